using Messaging.Contracts;

namespace Messaging.Server.Features.Envelopes;

/// <summary>
/// The message-kind policy, in one place. Protocol rules it encodes:
/// <list type="bullet">
/// <item>workers and organisation admins (practitioners of their service) send and receive every kind;</item>
/// <item>a justice assistant sends chat and session control, and receives chat, session control, attendance notices and
/// invitations — never referrals, referral responses, identity shares or case files (protocol 7.C);</item>
/// <item>the platform operator sends and receives chat and session control only: it administers, never sees cases;</item>
/// <item>a collective conversation refuses every case-bound kind (protocol 7.D); only workers and organisation admins
/// create one.</item>
/// </list>
/// A send is refused when the sender may not send the kind, when the conversation is collective and the kind is
/// case-bound, or when any member of the conversation (the sender's own member included) may not receive it.
/// </summary>
internal static class EnvelopePolicy
{
    public static bool MaySend(string role, EnvelopeKind kind) => role switch
    {
        Roles.Worker or Roles.OrganisationAdmin => EnvelopeKinds.IsDefined(kind),
        Roles.JusticeAssistant or Roles.PlatformOperator => kind is EnvelopeKind.Chat or EnvelopeKind.SessionControl,
        _ => false,
    };

    public static bool MayReceive(string role, EnvelopeKind kind) => role switch
    {
        Roles.Worker or Roles.OrganisationAdmin => EnvelopeKinds.IsDefined(kind),
        Roles.JusticeAssistant => kind is EnvelopeKind.Chat or EnvelopeKind.SessionControl or EnvelopeKind.AttendanceNotice or EnvelopeKind.Invitation,
        Roles.PlatformOperator => kind is EnvelopeKind.Chat or EnvelopeKind.SessionControl,
        _ => false,
    };

    public static bool AllowedInCollective(EnvelopeKind kind) => !EnvelopeKinds.IsCaseBound(kind);

    public static bool MayCreateCollective(string role) => role is Roles.Worker or Roles.OrganisationAdmin;
}
