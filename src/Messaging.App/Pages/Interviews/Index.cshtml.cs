using System.Globalization;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Microsoft.AspNetCore.Mvc;
using NodaTime;

namespace Messaging.App.Pages.Interviews;

/// <summary>
/// Tripartite interviews: the worker's working hours; for an open case, the candidate slots the server finds for the
/// chosen participants (shown as a calendar, by day, in Brussels time) and the invitation; the interviews this member
/// organises or takes part in, with the answer (participant) and the outcome (organiser). The case, the participants'
/// ids and the duration are the only query parameters: nothing in them names a person. The availability holds the
/// absences and the secret calendar feed (posted, shown back only as set or not). The person's own invitation is made
/// here, on this device, and handed to the browser as downloads; the name typed for its greeting is posted, never sent on.
/// </summary>
public sealed class IndexModel(DeviceSession device, Texts texts, TimeProvider time) : AppPageModel(device, texts)
{
    public static IReadOnlyList<DayOfWeek> WorkingDays { get; } = [DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday];

    /// <summary>The longest feed address the server takes, and the longest name for the person's greeting.</summary>
    public const int MaxFeedLength = 2000, MaxNameLength = 200;

    private People? _people;

    [BindProperty(SupportsGet = true)]
    public string? Case { get; set; }

    [BindProperty(SupportsGet = true)]
    public List<Guid> With { get; set; } = [];

    [BindProperty(SupportsGet = true)]
    public int Minutes { get; set; } = 60;

    public Guid Me { get; private set; }

    /// <summary>Whether the interview's start has passed: it can then no longer be cancelled (the server refuses it with
    /// <c>interview.already-started</c>), only have its outcome recorded.</summary>
    public bool HasStarted(InterviewEntry interview) => interview.Start <= time.GetUtcNow();

    public IReadOnlyList<InterviewEntry> Interviews { get; private set; } = [];

    public IReadOnlyList<string> OpenCases { get; private set; } = [];

    public IReadOnlyList<MemberEntry> Candidates { get; private set; } = [];

    public InterviewSlotsResult? Slots { get; private set; }

    public IReadOnlyList<DayOfWeek> AvailableDays { get; private set; } = [];

    public string From { get; private set; } = "09:00";

    public string To { get; private set; } = "17:00";

    public IReadOnlyList<AbsenceEntry> Absences { get; private set; } = [];

    /// <summary>Whether an external calendar feed is set (its address is never shown back: the server does not return it).</summary>
    public bool HasFeed { get; private set; }

    /// <summary>The candidate slots by week (Monday first) and day, in Brussels.</summary>
    public IReadOnlyList<IGrouping<LocalDate, IGrouping<LocalDate, InterviewSlot>>> Weeks => Slots is { } found
        ? [.. found.Slots.GroupBy(s => BrusselsTime.Local(s.Start).Date).GroupBy(d => d.Key.With(DateAdjusters.PreviousOrSame(IsoDayOfWeek.Monday)))]
        : [];

    /// <summary>The days a week's grid shows: Monday to Friday, and a weekend day only when it has a slot.</summary>
    public static IEnumerable<LocalDate> DaysOf(IGrouping<LocalDate, IGrouping<LocalDate, InterviewSlot>> week)
        => Enumerable.Range(0, 7).Select(week.Key.PlusDays).Where(d => d.DayOfWeek < IsoDayOfWeek.Saturday || week.Any(day => day.Key == d));

    public string WeekdayName(LocalDate date) => T[$"day.{date.ToDateOnly().DayOfWeek.ToString().ToLowerInvariant()}"];

    /// <summary>Why nothing fits, in sentences: the constraint that empties everyone's common time, and who is never free
    /// alone; with the calendars that could not be read.</summary>
    public IReadOnlyList<string> WhyNothingFits()
    {
        if (Slots is not { Slots.Count: 0 } found)
        {
            return [];
        }

        var reasons = new List<string>();
        if (found.EmptyingConstraint is { } common)
        {
            reasons.Add(T.Format("interviews.why.common", Constraint(common)));
        }

        reasons.AddRange(found.NeverFree.Select(n => T.Format("interviews.why.never-free", MemberName(n.MemberId), Constraint(n.Constraint))));
        return reasons.Count > 0 ? reasons : [T["interviews.no-slot"]];
    }

    /// <summary>The calendars the server could not read (the slots are right for the others).</summary>
    public IReadOnlyList<string> UnreadFeeds() => Slots is { } found
        ? [.. found.FeedProblems.Select(p => T.Format("interviews.feed-unread", MemberName(p.MemberId)))]
        : [];

    private string Constraint(string constraint)
    {
        var key = "interviews.why." + string.Concat(constraint.Select((c, i) => char.IsUpper(c) ? (i == 0 ? "" : "-") + char.ToLowerInvariant(c) : c.ToString()));
        return Texts.Strings.ContainsKey(key) ? T[key] : T["interviews.why.other"];
    }

    private string MemberName(Guid memberId) => memberId == Me ? T["interviews.you"] : _people?.Member(memberId, T["unknown.member"]) ?? T["unknown.member"];

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
        Absences = [.. availability.Absences.OrderBy(a => a.From)];
        HasFeed = availability.HasFeed;
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
                    Slots = await client.Interviews.FindSlotsAsync(new FindInterviewSlotsRequest(chosen.CaseReference, With, Math.Clamp(Minutes, 15, 480), Count: 12), cancellationToken);
                }
                catch (Exception ex) when (Texts.IsExpected(ex))
                {
                    TempData["error"] = T.Error(ex);
                }
            }
        }

        return Page();
    }

    /// <summary>
    /// Working hours, absences and the calendar feed, checked here as the server checks them (nothing is sent when one is
    /// wrong). Absences are whole days in Brussels (the last one included); those already set are kept unless unticked.
    /// The feed's address is secret: the server never returns it, so keeping a feed while changing the rest means typing
    /// it again (or removing it).
    /// </summary>
    public Task<IActionResult> OnPostAvailabilityAsync(List<DayOfWeek>? days, TimeOnly from, TimeOnly to, List<string>? keep,
        DateOnly? absenceFrom, DateOnly? absenceTo, string? feed, bool removeFeed) => ChangeAsync(async () =>
    {
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        if (to <= from)
        {
            return Refuse("interviews.hours-invalid");
        }

        var absences = new List<AbsenceEntry>();
        foreach (var kept in keep ?? [])
        {
            if (ParseAbsence(kept) is not { } absence)
            {
                return Refuse("interviews.absence-invalid");
            }

            absences.Add(absence);
        }

        if (absenceFrom is not null || absenceTo is not null)
        {
            if (absenceFrom is not { } first || absenceTo is not { } last || last < first)
            {
                return Refuse("interviews.absence-invalid");
            }

            absences.Add(new AbsenceEntry(BrusselsTime.StartOf(LocalDate.FromDateOnly(first)), BrusselsTime.StartOf(LocalDate.FromDateOnly(last).PlusDays(1))));
        }

        Uri? feedUrl = null;
        if (!string.IsNullOrWhiteSpace(feed))
        {
            if (removeFeed || feed.Trim().Length > MaxFeedLength || !Uri.TryCreate(feed.Trim(), UriKind.Absolute, out feedUrl) || feedUrl.Scheme != Uri.UriSchemeHttps)
            {
                return Refuse("interviews.feed-invalid");
            }
        }
        else if (!removeFeed && (await client.Interviews.GetAvailabilityAsync(cancellationToken)).HasFeed)
        {
            return Refuse("interviews.feed-again");
        }

        await client.Interviews.SetAvailabilityAsync([.. (days ?? []).Distinct().Select(d => new WorkingPeriodEntry(d, from, to))], absences, feedUrl,
            cancellationToken);
        Notify("interviews.saved");
        return Back();
    }, Back);

    /// <summary>The person's invitation, made here (never sent to the server) and handed over as a download: the
    /// <c>.ics</c>, the ready-to-send text (greeting the person by the name typed, if any) or the <c>mailto:</c> link.</summary>
    public async Task<IActionResult> OnPostPersonInvitationAsync(Guid interviewId, string? name, string? format)
    {
        var greeting = name?.Trim();
        if (greeting is { Length: > MaxNameLength } || (greeting?.Any(char.IsControl) ?? false) || format is not ("ics" or "text" or "mailto"))
        {
            return Refuse("interviews.name-invalid");
        }

        try
        {
            var client = Device.Client;
            var interview = (await client.Interviews.ListAsync(HttpContext.RequestAborted)).FirstOrDefault(i => i.InterviewId == interviewId);
            if (interview is null || interview.OrganiserMemberId != client.MemberId || interview.Participants.All(p => p.Role != InterviewParticipantRole.Person))
            {
                return Refuse("interviews.no-person-invitation");
            }

            var files = client.Interviews.PersonInvitation(interview, string.IsNullOrEmpty(greeting) ? null : greeting);
            Response.Headers.CacheControl = "no-store";
            var utf8 = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false);
            return format switch
            {
                "ics" => File(utf8.GetBytes(files.Ics), "text/calendar; charset=utf-8", files.IcsFileName),
                "text" => File(utf8.GetBytes(files.Text), "text/plain; charset=utf-8", "invitation.txt"),
                _ => File(utf8.GetBytes(files.MailTo.AbsoluteUri + "\n"), "text/plain; charset=utf-8", "mailto.txt"),
            };
        }
        catch (Exception ex) when (Texts.IsExpected(ex))
        {
            TempData["error"] = T.Error(ex);
            return Back();
        }
    }

    /// <summary>An absence kept from the form: its two instants as Unix seconds, <c>from/to</c>.</summary>
    public static string AbsenceValue(AbsenceEntry absence)
        => string.Create(CultureInfo.InvariantCulture, $"{absence.From.ToUnixTimeSeconds()}/{absence.To.ToUnixTimeSeconds()}");

    private static AbsenceEntry? ParseAbsence(string value)
    {
        var bounds = value.Split('/');
        return bounds.Length == 2 && long.TryParse(bounds[0], NumberStyles.None, CultureInfo.InvariantCulture, out var from)
            && long.TryParse(bounds[1], NumberStyles.None, CultureInfo.InvariantCulture, out var to) && from < to
            && from <= DateTimeOffset.MaxValue.ToUnixTimeSeconds() && to <= DateTimeOffset.MaxValue.ToUnixTimeSeconds()
            ? new AbsenceEntry(DateTimeOffset.FromUnixTimeSeconds(from), DateTimeOffset.FromUnixTimeSeconds(to))
            : null;
    }

    private RedirectResult Refuse(string key)
    {
        TempData["error"] = T[key];
        return Back();
    }

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
