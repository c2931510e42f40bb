using System.Collections.Concurrent;
using System.Reflection;

namespace Messaging.Server.Features.Authentication;

/// <summary>
/// Marks a hub method or an HTTP endpoint that a device awaiting approval may call (<see cref="DeviceStanding"/>): its
/// own keys (prekeys, the key log, publishing or receiving the member key, approving, which then refuses it as not
/// vouched for), its own pending envelopes, and the directory. Everything else acts for the device's member, and a
/// device its member did not vouch for acts for no one: an admin who enrols a device on a worker's account with a reset
/// code cannot use it to join the worker's conversations, read their list, or answer a referral as the worker.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
internal sealed class WhileAwaitingApprovalAttribute : Attribute
{
    private static readonly ConcurrentDictionary<MethodInfo, bool> Marked = new();

    public static bool IsOn(MethodInfo method) => Marked.GetOrAdd(method, static m => m.IsDefined(typeof(WhileAwaitingApprovalAttribute), inherit: false));
}

/// <summary>Where a device stands for a call.</summary>
internal enum DeviceStanding
{
    /// <summary>Revoked, or unknown.</summary>
    Revoked,

    /// <summary>Active, but its member has a signing key with no certificate for it: enrolled and not approved yet (or a
    /// device an admin enrolled on the member's account).</summary>
    AwaitingApproval,

    /// <summary>Active and vouched for under its member's key, or its member has no key yet (devices enrolled before
    /// cross-signing: the first of them to connect publishes one).</summary>
    Trusted,
}
