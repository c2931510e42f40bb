using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client;
using Messaging.Client.Attachments;
using Messaging.Client.Cases;
using Messaging.Contracts;
using Messaging.Crypto.Attestations;
using Messaging.Contracts.Referrals;
using Microsoft.AspNetCore.Mvc;
using NodaTime;

namespace Messaging.App.Pages.Cases;

/// <summary>
/// One case, as far as this device holds it: the status the server knows, the referral record and what arrived end to
/// end (answers, the identity, notes). The actions follow the protocol's order and the worker's side: the receiving
/// service answers; the referring service withdraws, shares the identity once accepted (to the accepting service only),
/// records and revokes the person's consent, and sends case notes under a live consent. Identity and notes are POSTed,
/// never put in a URL; the page title names nothing. A note's files stay in memory from the browser to the SDK, which
/// encrypts them: the form is read in memory up to the request limit (ASP.NET's default would write any body over
/// 64 KiB, in clear, to a temporary file).
/// </summary>
[RequestFormLimits(MultipartBodyLengthLimit = NoteFormLimit, MemoryBufferThreshold = NoteFormLimit)]
[RequestSizeLimit(NoteFormLimit)]
public sealed class DetailModel(DeviceSession device, Texts texts, TimeProvider time) : AppPageModel(device, texts)
{
    // Kestrel's own request limit (30 MB): room for a file a little over the attachment limit, so that it gets the
    // sentence rather than a refused request.
    private const int NoteFormLimit = 30_000_000;

    [BindProperty(SupportsGet = true)]
    public string Reference { get; set; } = "";

    public ReferralEntry Entry { get; private set; } = null!;

    public CaseView? View { get; private set; }

    public string From { get; private set; } = "";

    public string To { get; private set; } = "";

    public bool IsReferrer { get; private set; }

    public bool CanAnswer => !IsReferrer && Entry.Status is ReferralStatus.Proposed or ReferralStatus.TripartiteProposed;

    public bool CanWithdraw => IsReferrer && Entry.Status is ReferralStatus.Proposed or ReferralStatus.TripartiteProposed;

    public bool CanShareIdentity => IsReferrer && Entry.Status == ReferralStatus.Accepted;

    public IReadOnlyList<ConsentEntry> Consents { get; private set; } = [];

    public IReadOnlyList<MandateEntry> Mandates { get; private set; } = [];

    public IReadOnlyList<MemberEntry> Assistants { get; private set; } = [];

    public string Today => BrusselsTime.Today(time).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    private People? _people;

    public string MemberName(Guid memberId) => _people?.Member(memberId, T["unknown.member"]) ?? T["unknown.member"];

    public IReadOnlyList<ConsentEntry> LiveConsents => [.. Consents.Where(c => c.IsLive(time.GetUtcNow()))];

    public string DefaultConsentEnd => BrusselsTime.Today(time).PlusDays(30).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        var entry = (await client.ListReferralsAsync(cancellationToken)).FirstOrDefault(r => r.CaseReference == Reference);
        if (entry is null)
        {
            return NotFound();
        }

        Entry = entry;
        IsReferrer = entry.ReferringOrganisationId == client.OrganisationId;
        var people = await People.LoadAsync(client, cancellationToken);
        _people = people;
        From = people.Organisation(entry.ReferringOrganisationId, T["unknown.organisation"]);
        To = people.Organisation(entry.ReceivingOrganisationId, T["unknown.organisation"]);
        try
        {
            View = await client.GetCaseAsync(Reference, cancellationToken);
        }
        catch (CaseNotFoundException)
        {
            // The record has not reached this device (yet): the status alone is shown.
        }

        if (IsReferrer && entry.Status == ReferralStatus.Accepted)
        {
            Consents = await client.ListConsentsAsync(Reference, cancellationToken);
        }

        if (entry.Status == ReferralStatus.Accepted)
        {
            Mandates = [.. (await client.ListMandatesAsync(cancellationToken)).Where(m => m.CaseReference == Reference)];
            Assistants = [.. people.Members.Where(m => m.Role == Roles.JusticeAssistant)];
        }

        return Page();
    }

    public Task<IActionResult> OnPostProposeMandateAsync(Guid assistant) => ChangeAsync(async () =>
    {
        await Device.Client.ProposeMandateAsync(Reference, assistant, HttpContext.RequestAborted);
        Notify("case.mandate-proposed");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostNoticeAsync(AttendanceNoticeKind kind, DateOnly date, AbsenceJustification? justification) => ChangeAsync(async () =>
    {
        await Device.Client.IssueNoticeAsync(Reference, kind, kind == AttendanceNoticeKind.JustifiedAbsence ? justification : null,
            date: date, cancellationToken: HttpContext.RequestAborted);
        Notify("case.notice-sent");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostRespondAsync(ReferralResponse response, ReferralDeclineReason? declineReason) => ChangeAsync(async () =>
    {
        await Device.Client.RespondToReferralAsync(Reference, response, response == ReferralResponse.Decline ? declineReason : null, HttpContext.RequestAborted);
        Notify("case.answered");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostWithdrawAsync() => ChangeAsync(async () =>
    {
        await Device.Client.WithdrawReferralAsync(Reference, HttpContext.RequestAborted);
        return Back();
    }, Back);

    public Task<IActionResult> OnPostShareIdentityAsync(string? familyName, string? givenNames, DateOnly? birthDate, string? phone, string? email, string? address)
        => ChangeAsync(async () =>
        {
            var identity = new PersonIdentity(Reference, familyName?.Trim() ?? "", givenNames?.Trim() ?? "", birthDate, Blank(phone), Blank(email), Blank(address));
            await Device.Client.ShareIdentityAsync(identity, HttpContext.RequestAborted);
            Notify("case.identity-shared");
            return Back();
        }, Back);

    public Task<IActionResult> OnPostRecordConsentAsync(DateOnly until) => ChangeAsync(async () =>
    {
        var client = Device.Client;
        var entry = (await client.ListReferralsAsync(HttpContext.RequestAborted)).First(r => r.CaseReference == Reference);
        await client.RecordConsentAsync(Reference, entry.ReceivingOrganisationId, BrusselsTime.EndOfDay(LocalDate.FromDateOnly(until)), HttpContext.RequestAborted);
        Notify("consent.recorded");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostRevokeConsentAsync(Guid consentId) => ChangeAsync(async () =>
    {
        await Device.Client.RevokeConsentAsync(consentId, HttpContext.RequestAborted);
        Notify("consent.revoked-notice");
        return Back();
    }, Back);

    /// <summary>The largest file a note carries, in megabytes as the form states it (the SDK's limit, 25 MiB less the encryption overhead, rounded).</summary>
    public static long MaxAttachmentMegabytes => (AttachmentFile.MaxBytes + (512 * 1024)) / (1024 * 1024);

    /// <summary>A note with its files (a multipart form): each file is refused by its length before it is read, named by
    /// its sanitised name; the SDK encrypts each on this device before it uploads the blob.</summary>
    public Task<IActionResult> OnPostNoteAsync(Guid consentId, string? note, List<IFormFile>? files) => ChangeAsync(async () =>
    {
        var attached = new List<AttachmentFile>();
        foreach (var file in files ?? [])
        {
            if (file.Length > AttachmentFile.MaxBytes)
            {
                TempData["error"] = T.Format("note.too-large", MaxAttachmentMegabytes);
                return Back();
            }

            using var content = new MemoryStream((int)file.Length);
            await file.CopyToAsync(content, HttpContext.RequestAborted);
            var mediaType = AttachmentNames.IsMediaType(file.ContentType) ? file.ContentType : "application/octet-stream";
            attached.Add(new AttachmentFile(AttachmentNames.Sanitise(Path.GetFileName(file.FileName)), mediaType, content.ToArray()));
        }

        await Device.Client.SendCaseNoteAsync(Reference, consentId, note ?? "", attached, HttpContext.RequestAborted);
        Notify("note.sent");
        return Back();
    }, Back);

    /// <summary>A file a received note references, fetched, checked against the note and decrypted by the SDK, and handed
    /// to the browser as a download (never rendered by the app: whatever media type the sender named, it is served as
    /// bytes to save). The note and the file are named by their positions: nothing in the URL names the file.</summary>
    public async Task<IActionResult> OnGetAttachmentAsync(int note, int file)
    {
        var cancellationToken = HttpContext.RequestAborted;
        CaseView view;
        try
        {
            view = await Device.Client.GetCaseAsync(Reference, cancellationToken);
        }
        catch (CaseNotFoundException)
        {
            return NotFound();
        }

        if (note < 0 || note >= view.Notes.Count || file < 0 || file >= view.Notes[note].Attachments.Count)
        {
            return NotFound();
        }

        try
        {
            var opened = await Device.Client.OpenAttachmentAsync(view.Notes[note].Attachments[file], cancellationToken);
            return File(opened.Content, "application/octet-stream", opened.FileName);
        }
        catch (Exception ex) when (Texts.IsExpected(ex))
        {
            TempData["error"] = T.Error(ex);
            return Back();
        }
    }

    private RedirectResult Back() => Redirect($"/cases/{Reference}");

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
