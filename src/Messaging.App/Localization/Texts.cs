using System.Globalization;
using Messaging.Client;
using Messaging.Client.Cases;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Messaging.Crypto;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.KeyStore;
using NodaTime;

namespace Messaging.App.Localization;

/// <summary>The app's words in the language chosen for this request (<see cref="Language"/>): sentences, dates and times
/// in Brussels, the closed lists of the referral record, and the server's typed refusals in plain language.</summary>
public sealed partial class Texts(IHttpContextAccessor accessor)
{
    private string? _language;

    public string Language => _language ??= accessor.HttpContext is { } context ? Localization.Language.Of(context.Request) : Localization.Language.French;

    public string this[string key] => Lookup(key, Language);

    public string Format(string key, params object[] values) => string.Format(CultureInfo.InvariantCulture, this[key], values);

    public string DateTime(DateTimeOffset instant) => BrusselsTime.DateTime(instant, Language);

    public string Date(DateTimeOffset instant) => BrusselsTime.Date(instant, Language);

    public string Date(DateOnly date) => BrusselsTime.Date(LocalDate.FromDateOnly(date), Language);

    public string Status(ReferralStatus status) => this[$"status.{Kebab(status.ToString())}"];

    public string Level(string level) => Strings.ContainsKey($"level.{level}") ? this[$"level.{level}"] : level;

    public string Closed(RequestNature value) => this[$"nature.{ReferralRecord.Name(value)}"];

    public string Closed(Requester value) => this[$"requester.{ReferralRecord.Name(value)}"];

    public string Closed(ReasonCategory value) => this[$"reason.{ReferralRecord.Name(value)}"];

    public string Closed(Urgency value) => this[$"urgency.{ReferralRecord.Name(value)}"];

    public string Closed(ReferralResponse value) => this[value switch
    {
        ReferralResponse.Accept => "response.accept",
        ReferralResponse.ProposeTripartite => "response.tripartite",
        _ => "response.decline",
    }];

    public string Closed(ReferralDeclineReason value) => this[$"decline.{Kebab(value.ToString())}"];

    public string Role(string role) => Strings.ContainsKey($"role.{role}") ? this[$"role.{role}"] : role;

    public string OrganisationType(string type) => Strings.ContainsKey($"type.{type}") ? this[$"type.{type}"] : type;

    public string NoticeKind(AttendanceNoticeKind kind) => this[$"notice.{Kebab(kind.ToString())}"];

    public string Justification(AbsenceJustification justification) => this[$"justification.{Kebab(justification.ToString())}"];

    public string Verification(NoticeVerification verification) => this[$"verification.{Kebab(verification.ToString())}"];

    public string MandateStatus(Contracts.MandateStatus status) => this[$"mandate.{Kebab(status.ToString())}"];

    public string JoinStatus(string status) => Strings.ContainsKey($"join.{status}") ? this[$"join.{status}"] : status;

    public string InterviewState(InterviewState state) => this[$"interview-state.{Kebab(state.ToString())}"];

    public string InterviewAnswer(InterviewAnswer answer) => this[$"interview-answer.{Kebab(answer.ToString())}"];

    public string Kind(EnvelopeKind kind) => this[kind switch
    {
        EnvelopeKind.Referral => "kind.referral",
        EnvelopeKind.ReferralResponse => "kind.answer",
        EnvelopeKind.IdentityShare => "kind.identity",
        EnvelopeKind.CaseFile => "kind.note",
        EnvelopeKind.AttendanceNotice => "kind.notice",
        EnvelopeKind.Invitation => "kind.invitation",
        _ => "kind.other",
    }];

    /// <summary>The failures a worker can act on (a refusal, a wrong passphrase, an unreachable server), as opposed to defects.</summary>
    public static bool IsExpected(Exception ex)
        => ex is MessagingClientException or CryptoException or HttpRequestException or CaseRecordException or InvalidOperationException or ArgumentException;

    /// <summary>A refusal in plain words: the server's error code when it has its own sentence, else what the kind of
    /// refusal means. Never the exception's message (it is English, technical, and could quote content).</summary>
    public string Error(Exception ex) => ex switch
    {
        ServerRefusedException refused when Strings.ContainsKey($"error:{refused.Code}") => this[$"error:{refused.Code}"],
        NotPermittedException => this["failure.not-permitted"],
        StateConflictException => this["failure.conflict"],
        TargetNotFoundException => this["failure.not-found"],
        RateLimitedException or ServerStoppingException => this["error:rate-limited"],
        EnrolmentCodeRejectedException => this["error:enrolment.code-unknown"],
        DeviceNoLongerEnrolledException => this["error:auth.device-revoked"],
        InsecureServerAddressException => this["failure.insecure-server"],
        ServerRefusedException => this["failure.refused"],
        KeyStoreAuthenticationException => this["failure.wrong-passphrase"],
        KeyStoreLockedException => this["failure.in-use"],
        KeyStoreException => this["failure.store"],
        MemberKeyChangedException or IdentityKeyChangedException => this["failure.key-changed"],
        ConversationMembershipRejectedException => this["failure.membership-rejected"],
        FollowUpOngoingException => this["failure.follow-up"],
        CaseNotFoundException => this["failure.case-unknown"],
        MandateNotFoundException => this["failure.no-mandate"],
        CaseRecordException or ArgumentException => this["failure.record"],
        HttpRequestException => this["failure.unreachable"],
        _ => this["failure.client"],
    };

    internal static string Lookup(string key, string language)
    {
        if (!Strings.TryGetValue(key, out var text))
        {
            // A missing sentence is a defect (a test checks every key the pages use); show the key rather than fail the page.
            return key;
        }

        return language switch
        {
            Localization.Language.Dutch => text.Nl,
            Localization.Language.English => text.En,
            _ => text.Fr,
        };
    }

    private static string Kebab(string pascal)
        => string.Concat(pascal.Select((c, i) => char.IsUpper(c) ? (i == 0 ? "" : "-") + char.ToLowerInvariant(c) : c.ToString()));
}
