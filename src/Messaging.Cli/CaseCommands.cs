using System.Globalization;
using System.Text.Json;
using Messaging.Client;
using Messaging.Client.Attachments;
using Messaging.Client.Cases;
using Messaging.Contracts.Referrals;

namespace Messaging.Cli;

/// <summary>The referral workflow of protocol section 7: orient, refer, answer, share the identity, consent, case notes.</summary>
internal sealed partial class CliApp
{
    /// <summary>The options <c>refer</c> takes besides the referral's own fields; any other option is refused before
    /// anything is sent, so that a name or a narrative cannot slip into a referral through the command line.</summary>
    private static readonly string[] ReferOptions = ["store", "to", "record", "nature", "requester", "commune", "reason", "urgency", "follow-up-ongoing"];

    private async Task<int?> CaseCommandAsync(string[] args, Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        switch (args[0])
        {
            case "orient":
                var orientation = await client.OrientAsync(options.Required("commune"), cancellationToken);
                await output.WriteLineAsync($"{orientation.Commune.NisCode} {orientation.Commune.Name} ({orientation.Commune.Region})");
                foreach (var service in orientation.Services)
                {
                    await output.WriteLineAsync($"  {service.OrganisationId}  {service.Name} [{service.Level}, {service.Type}]");
                }

                return 0;
            case "refer":
                return await ReferAsync(options, client, cancellationToken);
            case "referrals":
                foreach (var referral in await client.ListReferralsAsync(cancellationToken))
                {
                    await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"{referral.CaseReference}  {ReferralStateMachine.Name(referral.Status)}{(referral.DeclineReason is { } reason ? $" ({ReferralAnswer.Name(reason)})" : "")}  from {referral.ReferringOrganisationId} to {referral.ReceivingOrganisationId}  opened {referral.OpenedAt:u}"));
                }

                return 0;
            case "cases":
                foreach (var caseReference in await client.ListCasesAsync(cancellationToken))
                {
                    await output.WriteLineAsync(caseReference);
                }

                return 0;
            case "case":
                var view = await client.GetCaseAsync(options.Required("case"), cancellationToken);
                await WriteCaseAsync(view);
                return options.Optional("save-attachments") is { } folder ? await SaveAttachmentsAsync(view, folder, client, cancellationToken) : 0;
            case "respond":
                var (response, declineReason) = Response(options);
                var answered = await client.RespondToReferralAsync(options.Required("case"), response, declineReason, cancellationToken);
                await output.WriteLineAsync($"referral {answered.CaseReference}: {ReferralStateMachine.Name(answered.Status)}");
                return 0;
            case "withdraw":
                var withdrawn = await client.WithdrawReferralAsync(options.Required("case"), cancellationToken);
                await output.WriteLineAsync($"referral {withdrawn.CaseReference}: {ReferralStateMachine.Name(withdrawn.Status)}");
                return 0;
            case "share-identity":
                var identity = new PersonIdentity(options.Required("case"), options.Required("family-name"), options.Required("given-names"),
                    options.Optional("birth-date") is { } birth ? ParseDate("birth-date", birth) : null,
                    options.Optional("phone"), options.Optional("email"), options.Optional("address"));
                var shared = await client.ShareIdentityAsync(identity, cancellationToken);
                await output.WriteLineAsync($"identity shared under {identity.CaseReference} ({shared.Recipients} device(s))");
                return 0;
            case "consent":
                return await ConsentAsync(args, options, client, cancellationToken);
            case "case-note":
                var files = new List<AttachmentFile>();
                if (options.Optional("attach") is { } file)
                {
                    try
                    {
                        files.Add(await AttachmentFile.ReadAsync(file, options.Optional("media-type") ?? "application/octet-stream", cancellationToken));
                    }
                    catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                    {
                        throw new UsageException($"--attach: the file cannot be read ({ex.GetType().Name}); nothing was sent");
                    }
                }

                var noteCase = options.Required("case");
                var sent = await client.SendCaseNoteAsync(noteCase, options.RequiredGuid("consent"), options.Optional("text") ?? "", files, cancellationToken);
                await output.WriteLineAsync($"case note sent under {noteCase} ({sent.Recipients} device(s))");
                return 0;
            default:
                return null;
        }
    }

    private async Task<int> ReferAsync(Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        if (options.Names.FirstOrDefault(n => !ReferOptions.Contains(n, StringComparer.Ordinal)) is { } outside)
        {
            throw new UsageException($"--{outside} is not a field of a referral; a referral holds only: {string.Join(", ", ReferralRecord.DraftFields)} (nothing was sent)");
        }

        var to = options.RequiredGuid("to");
        byte[] draft;
        if (options.Optional("record") is { } recordFile)
        {
            if (options.Names.Any(n => n is not ("store" or "to" or "record")))
            {
                throw new UsageException("give the referral either as --record FILE or as options, not both");
            }

            draft = await File.ReadAllBytesAsync(recordFile, cancellationToken);
        }
        else
        {
            var fields = new Dictionary<string, object>(StringComparer.Ordinal)
            {
                ["nature"] = options.Required("nature"),
                ["requester"] = options.Required("requester"),
                ["commune"] = options.Required("commune"),
                ["followUpOngoing"] = options.Flag("follow-up-ongoing"),
                ["reason"] = options.Required("reason"),
                ["urgency"] = options.Required("urgency"),
            };
            draft = JsonSerializer.SerializeToUtf8Bytes(fields);
        }

        var sent = await client.ReferAsync(to, draft, cancellationToken);
        await output.WriteLineAsync($"case {sent.Referral.CaseReference}\nconversation {sent.ConversationId}\nstatus {ReferralStateMachine.Name(sent.Referral.Status)}");
        return 0;
    }

    private async Task<int> ConsentAsync(string[] args, Options options, MessagingClient client, CancellationToken cancellationToken)
    {
        switch (args.ElementAtOrDefault(1))
        {
            case "record":
                var until = ParseDate("until", options.Required("until"));
                var recorded = await client.RecordConsentAsync(options.Required("case"), options.RequiredGuid("for"),
                    new DateTimeOffset(until.ToDateTime(new TimeOnly(23, 59, 59)), TimeSpan.Zero), cancellationToken);
                await WriteConsentAsync(recorded);
                return 0;
            case "revoke":
                await WriteConsentAsync(await client.RevokeConsentAsync(options.RequiredGuid("consent"), cancellationToken));
                return 0;
            case "list":
                foreach (var consent in await client.ListConsentsAsync(options.Required("case"), cancellationToken))
                {
                    await WriteConsentAsync(consent);
                }

                return 0;
            default:
                throw new UsageException("consent takes record, revoke or list; run 'messaging help'");
        }
    }

    private static (ReferralResponse Response, ReferralDeclineReason? Reason) Response(Options options)
    {
        var chosen = new[] { options.Flag("accept"), options.Flag("tripartite"), options.Optional("decline") is not null }.Count(c => c);
        if (chosen != 1)
        {
            throw new UsageException("respond takes exactly one of --accept, --tripartite, --decline REASON");
        }

        if (options.Optional("decline") is { } reason)
        {
            return ReferralAnswer.DeclineReasons.TryGetValue(reason, out var declineReason)
                ? (ReferralResponse.Decline, declineReason)
                : throw new UsageException($"--decline takes one of: {string.Join(", ", ReferralAnswer.DeclineReasons.Keys)}");
        }

        return (options.Flag("accept") ? ReferralResponse.Accept : ReferralResponse.ProposeTripartite, null);
    }

    private static DateOnly ParseDate(string name, string value)
        => DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new UsageException($"--{name} takes a date as yyyy-MM-dd");

    private Task WriteConsentAsync(ConsentEntry consent)
        => output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"consent {consent.ConsentId}  case {consent.CaseReference}  for {consent.ReceivingOrganisationId}  until {consent.ValidUntil:u}  recorded by {consent.RecordedByMemberId}{(consent.RevokedAt is { } revoked ? $"  revoked {revoked:u}" : "")}"));

    /// <summary>Fetches, checks and decrypts every attachment of the case's notes into <paramref name="folder"/>. One that
    /// is gone or altered is reported and skipped (never written); the exit code is then 1.</summary>
    private async Task<int> SaveAttachmentsAsync(CaseView view, string folder, MessagingClient client, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(folder))
        {
            throw new UsageException("--save-attachments takes an existing folder");
        }

        var exitCode = 0;
        foreach (var attachment in view.Notes.SelectMany(n => n.Attachments))
        {
            try
            {
                var opened = await client.OpenAttachmentAsync(attachment, cancellationToken);
                await output.WriteLineAsync($"saved {await opened.SaveToAsync(folder, cancellationToken)}");
            }
            catch (Exception ex) when (ex is AttachmentIntegrityException or AttachmentNotFoundException)
            {
                await error.WriteLineAsync($"error: attachment {attachment.FileName} not saved: {ex.Message}");
                exitCode = 1;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"error: attachment {attachment.FileName} not saved: the folder cannot be written ({ex.GetType().Name})");
                exitCode = 1;
            }
        }

        return exitCode;
    }

    private async Task WriteCaseAsync(CaseView view)
    {
        var referral = view.Referral;
        await output.WriteLineAsync($"case {view.CaseReference}  conversation {view.ConversationId}");
        await output.WriteLineAsync($"  referral: {ReferralRecord.Name(referral.Nature)}, asked by {ReferralRecord.Name(referral.Requester)}, commune {referral.CommuneNisCode}, " +
            $"reason {ReferralRecord.Name(referral.Reason)}, urgency {ReferralRecord.Name(referral.Urgency)}{(referral.FollowUpOngoing ? ", follow-up already running elsewhere" : "")}");
        foreach (var answer in view.Answers)
        {
            await output.WriteLineAsync($"  answer: {ReferralAnswer.Name(answer.Response)}{(answer.DeclineReason is { } reason ? $" ({ReferralAnswer.Name(reason)})" : "")}");
        }

        foreach (var identity in view.Identities)
        {
            await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                $"  identity: {Printable(identity.FamilyName)}, {Printable(identity.GivenNames)}{(identity.BirthDate is { } birth ? $", born {birth:yyyy-MM-dd}" : "")}{(identity.Phone is { } phone ? $", {Printable(phone)}" : "")}{(identity.Email is { } email ? $", {Printable(email)}" : "")}{(identity.PostalAddress is { } address ? $", {Printable(address)}" : "")}"));
        }

        foreach (var note in view.Notes)
        {
            await output.WriteLineAsync($"  note (consent {note.ConsentId}): {Printable(note.Text)}");
            foreach (var attachment in note.Attachments)
            {
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"    attachment {Printable(attachment.FileName)} ({Printable(attachment.MediaType)}, {attachment.Size} bytes)"));
            }
        }
    }
}
