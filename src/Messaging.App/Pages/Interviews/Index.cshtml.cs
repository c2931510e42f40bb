using System.Globalization;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Interviews;

/// <summary>
/// Tripartite interviews: the worker's working hours; for an open case, the candidate slots the server finds for the
/// chosen participants (shown as a calendar, by day, in Brussels time) and the invitation; the interviews this member
/// organises or takes part in, with the answer (participant) and the outcome (organiser). The case, the participants'
/// ids and the duration are the only query parameters: nothing in them names a person.
/// </summary>
public sealed class IndexModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public static IReadOnlyList<DayOfWeek> WorkingDays { get; } = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];

    private People? _people;

    [BindProperty(SupportsGet = true)]
    public string? Case { get; set; }

    [BindProperty(SupportsGet = true)]
    public List<Guid> With { get; set; } = [];

    [BindProperty(SupportsGet = true)]
    public int Minutes { get; set; } = 60;

    public Guid Me { get; private set; }

    public IReadOnlyList<InterviewEntry> Interviews { get; private set; } = [];

    public IReadOnlyList<string> OpenCases { get; private set; } = [];

    public IReadOnlyList<MemberEntry> Candidates { get; private set; } = [];

    public InterviewSlotsResult? Slots { get; private set; }

    public IReadOnlyList<DayOfWeek> AvailableDays { get; private set; } = [];

    public string From { get; private set; } = "09:00";

    public string To { get; private set; } = "17:00";

    public string ParticipantName(InterviewParticipantEntry participant) => participant.Role == InterviewParticipantRole.Person
        ? T["interviews.the-person"]
        : participant.MemberId is { } member ? _people?.Member(member, T["unknown.member"]) ?? T["unknown.member"] : T["unknown.member"];

    public async Task<IActionResult> OnGetAsync()
    {
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        Me = client.MemberId;
        _people = await People.LoadAsync(client, cancellationToken);
        Interviews = [.. (await client.Interviews.ListAsync(cancellationToken)).OrderBy(i => i.Start)];
        var referrals = (await client.ListReferralsAsync(cancellationToken))
            .Where(r => r.Status is ReferralStatus.Accepted or ReferralStatus.TripartiteProposed).ToList();
        OpenCases = [.. referrals.Select(r => r.CaseReference)];
        var availability = await client.Interviews.GetAvailabilityAsync(cancellationToken);
        // Nothing set yet: the form starts from the usual week, Monday to Friday.
        AvailableDays = availability.WorkingHours.Count == 0 ? WorkingDays : [.. availability.WorkingHours.Select(p => p.Day).Distinct()];
        if (availability.WorkingHours.Count > 0)
        {
            From = availability.WorkingHours[0].From.ToString("HH:mm", CultureInfo.InvariantCulture);
            To = availability.WorkingHours[0].To.ToString("HH:mm", CultureInfo.InvariantCulture);
        }

        if (referrals.FirstOrDefault(r => r.CaseReference == Case) is { } chosen)
        {
            var other = chosen.ReferringOrganisationId == client.OrganisationId ? chosen.ReceivingOrganisationId : chosen.ReferringOrganisationId;
            Candidates = [.. _people.Members.Where(m => m.MemberId != Me && (m.OrganisationId == other || m.OrganisationId == client.OrganisationId || m.Role == Roles.JusticeAssistant)
                && m.Role != Roles.PlatformOperator && m.ActiveDeviceIds.Count > 0)];
            if (With.Count > 0)
            {
                try
                {
                    Slots = await client.Interviews.FindSlotsAsync(new FindInterviewSlotsRequest(chosen.CaseReference, With, Math.Clamp(Minutes, 15, 480), Count: 8), cancellationToken);
                }
                catch (Exception ex) when (Texts.IsExpected(ex))
                {
                    TempData["error"] = T.Error(ex);
                }
            }
        }

        return Page();
    }

    public Task<IActionResult> OnPostAvailabilityAsync(List<DayOfWeek>? days, TimeOnly from, TimeOnly to) => ChangeAsync(async () =>
    {
        await Device.Client.Interviews.SetAvailabilityAsync([.. (days ?? []).Distinct().Select(d => new WorkingPeriodEntry(d, from, to))], [],
            cancellationToken: HttpContext.RequestAborted);
        Notify("interviews.saved");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostInviteAsync(DateTimeOffset start, string? address, bool person) => ChangeAsync(async () =>
    {
        await Device.Client.Interviews.InviteAsync(new ProposeInterviewRequest(Guid.NewGuid(), Case ?? "", With, person, start, Math.Clamp(Minutes, 15, 480),
            Address: string.IsNullOrWhiteSpace(address) ? null : address.Trim()), HttpContext.RequestAborted);
        Notify("interviews.invited");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostAnswerAsync(Guid interviewId, InterviewAnswer answer) => ChangeAsync(async () =>
    {
        await Device.Client.Interviews.AnswerAsync(interviewId, answer, cancellationToken: HttpContext.RequestAborted);
        Notify("interviews.answered");
        return Back();
    }, Back);

    public Task<IActionResult> OnPostOutcomeAsync(Guid interviewId, PersonAttendance? outcome) => ChangeAsync(async () =>
    {
        // A no-show with an accepted mandate also sends the signed notice to the justice assistant (the SDK does both).
        await Device.Client.RecordInterviewOutcomeAsync(interviewId, held: outcome is not null, outcome, cancellationToken: HttpContext.RequestAborted);
        Notify("interviews.outcome-recorded");
        return Back();
    }, Back);

    /// <summary>The organiser moves the interview to another time (given in Brussels time), the duration and place kept.</summary>
    public Task<IActionResult> OnPostRescheduleAsync(Guid interviewId, DateTime start) => ChangeAsync(async () =>
    {
        var client = Device.Client;
        var interview = (await client.Interviews.ListAsync(HttpContext.RequestAborted)).FirstOrDefault(i => i.InterviewId == interviewId);
        if (interview is null)
        {
            TempData["error"] = T["failure.not-found"];
            return Back();
        }

        await client.Interviews.RescheduleAsync(new RescheduleInterviewRequest(interviewId, BrusselsTime.At(start), interview.DurationMinutes,
            Address: interview.IsVideo ? null : interview.Place, VideoLink: interview.IsVideo ? new Uri(interview.Place) : null), HttpContext.RequestAborted);
        Notify("interviews.rescheduled");
        return Back();
    }, Back);

    /// <summary>The organiser calls the interview off.</summary>
    public Task<IActionResult> OnPostCancelAsync(Guid interviewId) => ChangeAsync(async () =>
    {
        await Device.Client.Interviews.CancelAsync(interviewId, HttpContext.RequestAborted);
        Notify("interviews.cancelled");
        return Back();
    }, Back);

    private RedirectResult Back() => Redirect("/interviews");
}
