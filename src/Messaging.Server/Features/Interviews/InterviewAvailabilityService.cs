using System.Net.Security;
using System.Security.Cryptography;
using System.Text.Json;
using Messaging.Contracts;
using Messaging.Scheduling.Availability;
using Messaging.Server.Errors;
using Messaging.Server.Features.Authentication;
using Messaging.Server.Features.Referrals;
using Messaging.Server.Persistence;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Extensions;

namespace Messaging.Server.Features.Interviews;

/// <summary>
/// Working hours, absences and the optional external feed of each member, and the server-side slot search over them
/// (the library's <see cref="SlotSearch"/>): each participant's hours in Europe/Brussels, the public holidays of their
/// service's community, their absences, the system's own live interviews as busy time, and their feed fetched over
/// HTTPS by the library's <see cref="CalendarFeedFetcher"/> (a slow, failing or malformed feed is reported and the search
/// goes on without it). Feed URLs may carry secrets: they are stored, fetched, and never logged or returned.
/// </summary>
internal sealed class InterviewAvailabilityService(
    IDatabase database,
    InterviewFeeds feeds,
    TimeProvider time,
    IOptions<InterviewsOptions> options)
{
    private const int MaxPeriods = 35, MaxAbsences = 200, MaxFeedUrlLength = 2000;

    public async Task<InterviewAvailabilityEntry> SetAsync(CallerDevice caller, SetInterviewAvailabilityRequest request, CancellationToken cancellationToken = default)
    {
        InterviewService.RequireParticipantRole(caller);
        ArgumentNullException.ThrowIfNull(request);
        if (request.WorkingHours is null || request.Absences is null || request.WorkingHours.Count > MaxPeriods || request.Absences.Count > MaxAbsences)
        {
            throw Invalid($"At most {MaxPeriods} working periods and {MaxAbsences} absences.");
        }

        _ = HoursOf(request.WorkingHours);
        if (request.Absences.Any(a => a.To <= a.From))
        {
            throw Invalid("An absence ends after it starts.");
        }

        if (request.FeedUrl is { } feed && (!feed.IsAbsoluteUri || feed.Scheme != Uri.UriSchemeHttps || feed.OriginalString.Length > MaxFeedUrlLength))
        {
            throw Invalid("A calendar feed is an absolute https URL.");
        }

        var now = DbValues.ToStoragePrecision(time.GetUtcNow());
        var record = new AvailabilityRecord(caller.MemberId, JsonSerializer.Serialize(request.WorkingHours), JsonSerializer.Serialize(
            request.Absences.Select(a => new AbsenceEntry(DbValues.ToStoragePrecision(a.From), DbValues.ToStoragePrecision(a.To))).ToList()),
            request.FeedUrl?.AbsoluteUri, now);
        await database.WriteAsync(async s =>
        {
            await InterviewRepository.UpsertAvailabilityAsync(s, record);
            return 0;
        }, cancellationToken);
        return ToEntry(caller.MemberId, record);
    }

    public async Task<InterviewAvailabilityEntry> GetAsync(CallerDevice caller, CancellationToken cancellationToken = default)
    {
        InterviewService.RequireParticipantRole(caller);
        var record = await database.ReadAsync(s => InterviewRepository.GetAvailabilityAsync(s, caller.MemberId), cancellationToken);
        return ToEntry(caller.MemberId, record);
    }

    public async Task<InterviewSlotsResult> FindSlotsAsync(CallerDevice caller, FindInterviewSlotsRequest request, CancellationToken cancellationToken = default)
    {
        ReferralService.RequirePractitioner(caller);
        ArgumentNullException.ThrowIfNull(request);
        var caseReference = ReferralService.RequireCaseReference(request.CaseReference);
        var o = options.Value;
        var notice = request.MinimumNoticeHours is { } h ? TimeSpan.FromHours(h) : o.MinimumNotice;
        var horizon = request.HorizonDays is { } d ? TimeSpan.FromDays(d) : o.Horizon;
        if (request.ParticipantMemberIds is null || request.ParticipantMemberIds.Count is < 1 or > 3
            || request.ParticipantMemberIds.Distinct().Count() != request.ParticipantMemberIds.Count || request.ParticipantMemberIds.Contains(caller.MemberId)
            || !Scheduling.Interviews.Interview.AllowsMinutes(request.DurationMinutes) || request.Count is < 1 or > 20 || request.BufferMinutes is < 0 or > 120
            || notice < TimeSpan.Zero || notice > TimeSpan.FromDays(30) || horizon < TimeSpan.FromDays(1) || horizon > TimeSpan.FromDays(366))
        {
            throw new MalformedRequestException(
                "A search names 1–3 other members once each, 15–240 minutes, 1–20 slots, buffers up to 120 minutes, notice up to 30 days and a horizon of 1–366 days.",
                ErrorCodes.InterviewInvalid);
        }

        var now = time.GetUtcNow();
        var members = request.ParticipantMemberIds.Prepend(caller.MemberId).ToList();
        var (people, busy) = await database.ReadAsync(async s =>
        {
            var referral = await InterviewService.RequireOpenCaseAsync(s, caller, caseReference);
            var found = new List<(Guid Member, Guid Organisation, AvailabilityRecord? Availability)>();
            foreach (var id in members)
            {
                var member = id == caller.MemberId
                    ? await InterviewRepository.GetMemberAsync(s, id) ?? throw new NotFoundException(ErrorCodes.MemberNotFound, "No such member.")
                    : await InterviewRepository.GetMemberAsync(s, (await InterviewService.AllowedParticipantAsync(s, referral, id)).MemberId);
                found.Add((id, member!.OrganisationId, await InterviewRepository.GetAvailabilityAsync(s, id)));
            }

            return (found, await InterviewRepository.BusyAsync(s, members, now, now + horizon));
        }, cancellationToken);

        var loaded = await Task.WhenAll(people.Select(p => LoadAsync(p.Member, p.Organisation, p.Availability, busy[p.Member], cancellationToken)));
        var result = SlotSearch.Find(new SlotSearchRequest(loaded, Duration.FromMinutes(request.DurationMinutes), Instant.FromDateTimeOffset(now), request.Count)
        {
            BufferBefore = Duration.FromMinutes(request.BufferMinutes),
            BufferAfter = Duration.FromMinutes(request.BufferMinutes),
            MinimumNotice = Duration.FromTimeSpan(notice),
            Horizon = Duration.FromTimeSpan(horizon),
        });
        return new InterviewSlotsResult(
            [.. result.Slots.Select(s => new InterviewSlot(s.Start.ToDateTimeOffset(), s.End.ToDateTimeOffset()))],
            result.IsComplete,
            [.. result.FeedProblems.Select(ForCaller)],
            result.Explanation?.CommonConstraint.ToString(),
            [.. (result.Explanation?.NeverFree ?? new Dictionary<string, EmptyingConstraint>()).Select(n => new InterviewNeverFree(Guid.Parse(n.Key), n.Value.ToString()))]);
    }

    private Task<ParticipantAvailability> LoadAsync(Guid memberId, Guid organisationId, AvailabilityRecord? availability,
        List<(DateTimeOffset Start, DateTimeOffset End)> busy, CancellationToken cancellationToken)
    {
        var periods = availability is null ? [] : JsonSerializer.Deserialize<List<WorkingPeriodEntry>>(availability.WorkingHoursJson) ?? [];
        var absences = availability is null ? [] : JsonSerializer.Deserialize<List<AbsenceEntry>>(availability.AbsencesJson) ?? [];
        IReadOnlyList<Uri> feedUrls = availability?.FeedUrl is { } url ? [new Uri(url, UriKind.Absolute)] : [];
        return feeds.Fetcher.LoadAsync(memberId.ToString("D"), HoursOf(periods), options.Value.CommunityOf(organisationId),
            [.. absences.Select(a => new Interval(Instant.FromDateTimeOffset(a.From), Instant.FromDateTimeOffset(a.To)))],
            [.. busy.Select(b => new Interval(Instant.FromDateTimeOffset(b.Start), Instant.FromDateTimeOffset(b.End)))],
            feedUrls, cancellationToken);
    }

    private static WorkingHours HoursOf(IReadOnlyList<WorkingPeriodEntry> periods)
    {
        if (periods.Any(p => p is null || !Enum.IsDefined(p.Day) || p.To <= p.From))
        {
            throw Invalid("Each working period has a weekday and ends after it starts.");
        }

        try
        {
            return WorkingHours.Create(periods.GroupBy(p => p.Day.ToIsoDayOfWeek()).ToDictionary(
                g => g.Key, g => (IReadOnlyList<WorkingPeriod>)[.. g.Select(p => new WorkingPeriod(LocalTime.FromTimeOnly(p.From), LocalTime.FromTimeOnly(p.To)))]));
        }
        catch (ArgumentException)
        {
            throw Invalid("Working periods of one day must not overlap.");
        }
    }

    private static InterviewAvailabilityEntry ToEntry(Guid memberId, AvailabilityRecord? record) => record is null
        ? new InterviewAvailabilityEntry(memberId, [], [], false, null)
        : new InterviewAvailabilityEntry(memberId, JsonSerializer.Deserialize<List<WorkingPeriodEntry>>(record.WorkingHoursJson) ?? [],
            JsonSerializer.Deserialize<List<AbsenceEntry>>(record.AbsencesJson) ?? [], record.FeedUrl is not null, record.UpdatedAt);

    private static MalformedRequestException Invalid(string message) => new(message, ErrorCodes.InterviewAvailabilityInvalid);

    /// <summary>
    /// A feed problem as the searching worker sees it. No answer in time, a refused or failed connection, an HTTP error
    /// status and a host without a public address are all one kind, <c>Unavailable</c>, with one sentence: the worker
    /// chose the URL, and telling these apart (or giving the status) would let a slot search map which hosts and
    /// services exist (review 2026-11-29, sched finding 14). The log keeps the library's precise kind, never the URL.
    /// </summary>
    private static InterviewFeedProblem ForCaller(FeedProblem problem) => problem.Kind is FeedProblemKind.Timeout or FeedProblemKind.Unreachable
        or FeedProblemKind.HostNotAllowed
        ? new InterviewFeedProblem(Guid.Parse(problem.ParticipantLabel), UnavailableFeed, "The calendar feed could not be read: check its address, or try again later.")
        : new InterviewFeedProblem(Guid.Parse(problem.ParticipantLabel), problem.Kind.ToString(), problem.Message);

    /// <summary>The one kind of an unreadable feed in a slot search's answer.</summary>
    public const string UnavailableFeed = "Unavailable";
}

/// <summary>
/// The HTTP client of external feeds (one per host) and the library's fetcher over it. It connects to public addresses
/// only (<see cref="CalendarFeedFetcher.CreateHandler"/>) and checks certificates as usual; tests only may allow
/// loopback hosts (<see cref="InterviewsOptions.AllowPrivateFeedHosts"/>) and pin one extra server certificate by its
/// SHA-256 thumbprint (<see cref="InterviewsOptions.FeedTestCertificateThumbprint"/>), for a loopback HTTPS stand-in.
/// </summary>
internal sealed class InterviewFeeds : IDisposable
{
    private readonly HttpClient _http;

    public InterviewFeeds(IOptions<InterviewsOptions> options, TimeProvider time, ILogger<CalendarFeedFetcher> logger)
    {
        var o = options.Value;
        var feedOptions = new CalendarFeedOptions { Timeout = o.FeedTimeout, MaxBytes = o.FeedMaxBytes, AllowPrivateFeedHosts = o.AllowPrivateFeedHosts };
        var handler = CalendarFeedFetcher.CreateHandler(feedOptions);
        if (o.FeedTestCertificateThumbprint is { Length: > 0 } pinned)
        {
            handler.SslOptions = new SslClientAuthenticationOptions
            {
                RemoteCertificateValidationCallback = (_, certificate, _, errors) => errors == SslPolicyErrors.None
                    || (certificate is not null && string.Equals(Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())), pinned, StringComparison.OrdinalIgnoreCase)),
            };
        }

        _http = new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan };
        Fetcher = new CalendarFeedFetcher(_http, feedOptions, time, logger);
    }

    public CalendarFeedFetcher Fetcher { get; }

    public void Dispose() => _http.Dispose();
}
