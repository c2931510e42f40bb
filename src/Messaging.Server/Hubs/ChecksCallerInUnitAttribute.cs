using System.Collections.Concurrent;
using System.Reflection;

namespace Messaging.Server.Hubs;

/// <summary>
/// Marks a hub method whose unit of work reads the caller's device status itself, in the round trip of its first reads
/// (<c>DeviceRepository.Active</c>), and refuses a revoked device there. <see cref="HubErrorFilter"/> then skips its own
/// database read for the call and only asks whether this process already knows the device is revoked. The busiest calls
/// (a send, an acknowledgement) cost one round trip fewer, and a revocation by another process is seen at their very next
/// call rather than within <see cref="DatabaseDeviceCheck.ActiveFor"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Method, Inherited = false)]
internal sealed class ChecksCallerInUnitAttribute : Attribute
{
    private static readonly ConcurrentDictionary<MethodInfo, bool> Marked = new();

    public static bool IsOn(MethodInfo method) => Marked.GetOrAdd(method, static m => m.IsDefined(typeof(ChecksCallerInUnitAttribute), inherit: false));
}
