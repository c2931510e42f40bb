using System.Globalization;
using Messaging.Client;
using Messaging.Client.Notices;
using Messaging.Crypto.Attestations;

namespace Messaging.Cli;

/// <summary>Mandates and attendance notices (protocol 7.C): the following service's commands, the assistant's verified
/// inbox and certificates, and the certificate check.</summary>
internal sealed partial class CliApp
{
    private const string NoticeUsage = """
          mandate propose --case REF --assistant MEMBER   set up a mandate with a justice assistant
          mandate accept --mandate ID | mandate end --mandate ID
          mandates                               my service's mandates (or, as an assistant, mine)
          notice issue --case REF --kind present|justified-absence|no-show|unilateral-end|risk-to-person|risk-to-third-parties
                [--justification illness|work|family-emergency|transport|other-justified]
                (--interview ID | --date yyyy-MM-dd)    signed here, sent to the mandate's assistant only
          no-show --case REF --interview ID      the no-show notice at once, for a started interview of your service on
                                                 the case (for one you organise, 'interview outcome --held --attendance
                                                 no-show' also records the outcome; for one held outside the system,
                                                 'notice issue --kind no-show --date')
          notices                                notices received, each verified against the key log
          notice certificate --notice ID --out FILE.html   a printable attendance certificate
          verify-certificate FILE                check a certificate against this device's verified key log (exit 0
                                                 only when valid); with no key store, only whether the signature is
                                                 consistent with the key printed in the file (never valid)
        """;

    private async Task<int?> NoticeCommandAsync(string[] args, Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        switch (args[0], args.ElementAtOrDefault(1))
        {
            case ("mandate", "propose"):
                await WriteMandateAsync(await client.ProposeMandateAsync(options.Required("case"), options.RequiredGuid("assistant"), cancellationToken));
                return 0;
            case ("mandate", "accept"):
                await WriteMandateAsync(await client.AcceptMandateAsync(options.RequiredGuid("mandate"), cancellationToken));
                return 0;
            case ("mandate", "end"):
                await WriteMandateAsync(await client.EndMandateAsync(options.RequiredGuid("mandate"), cancellationToken));
                return 0;
            case ("mandates", _):
                foreach (var mandate in await client.ListMandatesAsync(cancellationToken))
                {
                    await WriteMandateAsync(mandate);
                }

                return 0;
            case ("notice", "issue"):
                if (!AttendanceNotice.TryParseKind(options.Required("kind"), out var kind))
                {
                    throw new UsageException("--kind is one of present, justified-absence, no-show, unilateral-end, risk-to-person, risk-to-third-parties");
                }

                AbsenceJustification? justification = null;
                if (options.Optional("justification") is { } code)
                {
                    justification = AttendanceNotice.TryParseJustification(code, out var parsed)
                        ? parsed
                        : throw new UsageException("--justification is one of illness, work, family-emergency, transport, other-justified");
                }

                DateOnly? date = options.Optional("date") is { } text
                    ? DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : throw new UsageException("--date takes yyyy-MM-dd")
                    : null;
                NoticeIssued issued;
                try
                {
                    issued = await client.IssueNoticeAsync(options.Required("case"), kind, justification, options.OptionalGuid("interview"), date, cancellationToken);
                }
                catch (ArgumentException e)
                {
                    throw new UsageException(e.Message);
                }

                await output.WriteLineAsync($"notice {issued.Notice.NoticeId} ({AttendanceNotice.KindCode(kind)}) signed and sent to {issued.Receipt.Recipients} device(s)");
                return 0;
            case ("no-show", _):
                var noShow = await client.RecordNoShowAsync(options.Required("case"), options.RequiredGuid("interview"), cancellationToken);
                await output.WriteLineAsync($"no-show notice {noShow.Notice.NoticeId} signed and sent to {noShow.Receipt.Recipients} device(s)");
                return 0;
            case ("notices", _):
                await client.SynchronizeAsync(cancellationToken);
                foreach (var notice in await client.GetNoticesAsync(cancellationToken))
                {
                    await WriteNoticeAsync(notice);
                }

                return 0;
            case ("notice", "certificate"):
                var html = await client.CreateAttendanceCertificateAsync(options.RequiredGuid("notice"), cancellationToken);
                var path = options.Required("out");
                await File.WriteAllTextAsync(path, html, cancellationToken);
                await output.WriteLineAsync($"certificate written to {path}");
                return 0;
            default:
                return null;
        }
    }

    /// <summary>
    /// With a key store at the store path: against this device's verified key log (synced first), the only check that can
    /// answer valid. Without one: the file alone, which cannot vouch for the key it carries, so at best "not
    /// authenticated", with the signer's fingerprint to compare out of band.
    /// </summary>
    private async Task<int> VerifyCertificateAsync(string[] args, Options options, CancellationToken cancellationToken)
    {
        var path = args.ElementAtOrDefault(1) ?? throw new UsageException("verify-certificate takes the certificate file");
        var html = await File.ReadAllTextAsync(path, cancellationToken);
        return File.Exists(StorePath(options))
            ? await WithClientAsync(options, async client => await WriteCertificateCheckAsync(await client.VerifyAttendanceCertificateAsync(html, cancellationToken)),
                cancellationToken)
            : await WriteCertificateCheckAsync(AttendanceCertificate.Verify(html));
    }

    private async Task<int> WriteCertificateCheckAsync(CertificateCheck check)
    {
        var status = check.Status switch
        {
            CertificateStatus.Valid => "VALID",
            CertificateStatus.SignerRevoked => "SIGNER REVOKED",
            CertificateStatus.SignerUnknown => "SIGNER UNKNOWN",
            CertificateStatus.NotAuthenticated => "NOT AUTHENTICATED",
            _ => "ALTERED",
        };
        await output.WriteLineAsync($"{status}: {check.Reason}");
        if (check.Notice is { } notice)
        {
            await output.WriteLineAsync($"notice {notice.NoticeId} ({AttendanceNotice.KindCode(notice.Kind)}) case {notice.CaseReference}, issued {notice.IssuedAt:yyyy-MM-dd HH:mm} UTC by member {notice.IssuerMemberId} on device {notice.IssuerDeviceId}, verification code {check.VerificationCode}");
        }

        if (check.SignerFingerprint is { } fingerprint)
        {
            await output.WriteLineAsync($"signing key fingerprint {fingerprint} (one half of the safety number of that device: 'messaging safety-number --member {check.Notice!.IssuerMemberId}')");
        }

        return check.Status == CertificateStatus.Valid ? 0 : 1;
    }

    private Task WriteMandateAsync(Contracts.MandateEntry mandate)
        => output.WriteLineAsync($"mandate {mandate.MandateId}  case {mandate.CaseReference}  service {mandate.ServiceOrganisationId}  assistant {mandate.AssistantMemberId}  {Contracts.MandateStateMachine.Name(mandate.Status)}");

    private Task WriteNoticeAsync(ReceivedNotice notice)
    {
        var verification = notice.Verification switch
        {
            NoticeVerification.Verified => "verified",
            NoticeVerification.SignerRevoked => "verified, signing device revoked since",
            NoticeVerification.SignerUnknown => "NOT VERIFIED: signing device unknown to the key log",
            _ => "NOT VERIFIED: invalid",
        };
        if (notice.Notice is not { } n)
        {
            return output.WriteLineAsync($"(unreadable notice, sequence {notice.Sequence})  {verification}");
        }

        var about = n.InterviewId is { } interview ? $"interview {interview}" : $"date {n.InterviewDate:yyyy-MM-dd}";
        var justification = n.Justification is { } j ? $" ({AttendanceNotice.JustificationCode(j)})" : string.Empty;
        return output.WriteLineAsync(
            $"{n.NoticeId}  {AttendanceNotice.KindCode(n.Kind)}{justification}  case {n.CaseReference}  {about}  issued {n.IssuedAt:yyyy-MM-dd HH:mm} UTC by {notice.IssuerName ?? n.IssuerMemberId.ToString()} ({notice.ServiceName ?? n.IssuerOrganisationId.ToString()})  {verification}");
    }
}
