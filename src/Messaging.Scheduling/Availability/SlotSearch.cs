using NodaTime;

namespace Messaging.Scheduling.Availability;

/// <summary>
/// One participant's availability. <see cref="Label"/> names them in explanations and logs: a member id, never a
/// person's name. <see cref="FeedProblems"/> lists the external feeds that could not be read: the search goes on without
/// them and says so.
/// </summary>
public sealed record ParticipantAvailability(
    string Label,
    WorkingHours Hours,
    Community Community,
    IReadOnlyList<Interval> Absences,
    IReadOnlyList<BusySource> Busy,
    IReadOnlyList<FeedProblem> FeedProblems);

/// <summary>What to search for. Durations are exact; the zone is the services' (Europe/Brussels).</summary>
public sealed record SlotSearchRequest(
    IReadOnlyList<ParticipantAvailability> Participants,
    Duration Length,
    Instant Now,
    int Count = 5)
{
    public Duration BufferBefore { get; init; } = Duration.Zero;

    public Duration BufferAfter { get; init; } = Duration.Zero;

    public Duration MinimumNotice { get; init; } = Duration.FromHours(24);

    public Duration Horizon { get; init; } = Duration.FromDays(90);

    /// <summary>Slot starts are multiples of this (from the Unix epoch: whole quarters of an hour in Brussels too).</summary>
    public Duration Granularity { get; init; } = Duration.FromMinutes(15);
}

/// <summary>The constraint that, added to the ones before it, leaves no room for the interview.</summary>
public enum EmptyingConstraint
{
    /// <summary>The minimum notice reaches past the horizon.</summary>
    NoticeAndHorizon,

    /// <summary>Working hours (the participant's, or everyone's together) hold no period long enough.</summary>
    WorkingHours,

    /// <summary>What working hours leave is public holidays.</summary>
    PublicHolidays,

    /// <summary>What is left is covered by absences.</summary>
    Absences,

    /// <summary>What is left is covered by busy periods (calendar feeds, other interviews).</summary>
    BusyPeriods,

    /// <summary>Free gaps exist but none holds the interview with its buffers before and after.</summary>
    Buffers,
}

/// <summary>Why no slot was found: the first constraint that empties everyone's common window, and who is never free
/// alone (with the constraint that empties their own window).</summary>
public sealed record NoSlotExplanation(EmptyingConstraint CommonConstraint, IReadOnlyDictionary<string, EmptyingConstraint> NeverFree)
{
    public override string ToString() => NeverFree.Count > 0
        ? $"Never free in the window: {string.Join(", ", NeverFree.Select(p => $"{p.Key} ({p.Value})"))}."
        : $"Each participant has free time, but {CommonConstraint} leaves no common period long enough.";
}

/// <summary>The slots found (earliest first), the feeds left out, and why nothing fits when nothing does.</summary>
public sealed record SlotSearchResult(IReadOnlyList<Interval> Slots, IReadOnlyList<FeedProblem> FeedProblems, NoSlotExplanation? Explanation)
{
    /// <summary>False when a feed could not be read: the slots are right for what is known, not for everything.</summary>
    public bool IsComplete => FeedProblems.Count == 0;
}

/// <summary>
/// The earliest slots common to all participants. Each participant's free time is working hours (local, holidays
/// closed) minus absences minus busy periods widened by the buffers, all as sorted spans within the search window;
/// the common free time is their intersection. Busy sources are asked for the window only (see
/// <see cref="IcsBusyCalendar"/>), so the cost is linear in what falls inside the window.
/// </summary>
public static class SlotSearch
{
    /// <summary>The zone of every service of the protocol.</summary>
    public static DateTimeZone Brussels { get; } = DateTimeZoneProviders.Tzdb["Europe/Brussels"];

    /// <exception cref="ArgumentException">No participant, a non-positive duration, count or granularity, or negative
    /// buffers.</exception>
    public static SlotSearchResult Find(SlotSearchRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Participants.Count == 0 || request.Length <= Duration.Zero || request.Count <= 0
            || request.Granularity <= Duration.Zero || request.BufferBefore < Duration.Zero || request.BufferAfter < Duration.Zero
            || request.MinimumNotice < Duration.Zero || request.Horizon <= Duration.Zero)
        {
            throw new ArgumentException("A slot search needs participants, a positive duration, count, granularity and horizon, and non-negative buffers and notice.", nameof(request));
        }

        var problems = request.Participants.SelectMany(p => p.FeedProblems).ToList();
        var granularity = request.Granularity.BclCompatibleTicks;
        var from = AlignUp((request.Now + request.MinimumNotice).ToUnixTimeTicks(), granularity);
        var to = (request.Now + request.Horizon).ToUnixTimeTicks();
        var length = request.Length.BclCompatibleTicks;
        if (from + length > to)
        {
            return new SlotSearchResult([], problems, new NoSlotExplanation(EmptyingConstraint.NoticeAndHorizon, new Dictionary<string, EmptyingConstraint>()));
        }

        List<Span>? common = null;
        foreach (var participant in request.Participants)
        {
            var free = FreeTime(participant, request, from, to, Stage.All);
            common = common is null ? free : SpanSet.Intersect(common, free);
        }

        var slots = new List<Interval>(request.Count);
        foreach (var span in common!)
        {
            for (var start = AlignUp(span.Start, granularity); start + length <= span.End && slots.Count < request.Count; start += granularity)
            {
                slots.Add(new Span(start, start + length).ToInterval());
            }

            if (slots.Count == request.Count)
            {
                break;
            }
        }

        return new SlotSearchResult(slots, problems, slots.Count == 0 ? Explain(request, from, to) : null);
    }

    private enum Stage
    {
        Hours,
        Holidays,
        Absences,
        Busy,
        All,
    }

    private static List<Span> FreeTime(ParticipantAvailability participant, SlotSearchRequest request, long from, long to, Stage stage)
    {
        var free = SpanSet.Normalise(participant.Hours.Spans(from, to, Brussels, participant.Community, stage >= Stage.Holidays));
        if (stage >= Stage.Absences)
        {
            var absences = SpanSet.Normalise([.. participant.Absences.Select(a => Span.Of(a.Start, a.End))]);
            free = SpanSet.Subtract(free, absences);
        }

        if (stage >= Stage.Busy)
        {
            var before = stage == Stage.All ? request.BufferBefore.BclCompatibleTicks : 0;
            var after = stage == Stage.All ? request.BufferAfter.BclCompatibleTicks : 0;
            var busy = new List<Span>();
            foreach (var source in participant.Busy)
            {
                source.Collect(from - before, to + after, busy);
            }

            // A slot needs bufferBefore free before it and bufferAfter after it: widen each busy span the other way.
            for (var i = 0; i < busy.Count; i++)
            {
                busy[i] = new Span(busy[i].Start - after, busy[i].End + before);
            }

            free = SpanSet.Subtract(free, SpanSet.Normalise(busy));
        }

        return free;
    }

    private static NoSlotExplanation Explain(SlotSearchRequest request, long from, long to)
    {
        var length = request.Length.BclCompatibleTicks;
        var stages = new[] { Stage.Hours, Stage.Holidays, Stage.Absences, Stage.Busy, Stage.All };
        var neverFree = new Dictionary<string, EmptyingConstraint>(StringComparer.Ordinal);
        var perStage = stages.Select(_ => (List<Span>?)null).ToArray();
        foreach (var participant in request.Participants)
        {
            EmptyingConstraint? own = null;
            for (var s = 0; s < stages.Length; s++)
            {
                var free = FreeTime(participant, request, from, to, stages[s]);
                perStage[s] = perStage[s] is null ? free : SpanSet.Intersect(perStage[s]!, free);
                if (own is null && !SpanSet.Fits(free, length))
                {
                    own = Constraint(stages[s]);
                }
            }

            if (own is { } c)
            {
                neverFree[participant.Label] = c;
            }
        }

        var common = EmptyingConstraint.Buffers;
        for (var s = 0; s < stages.Length; s++)
        {
            if (!SpanSet.Fits(perStage[s]!, length))
            {
                common = Constraint(stages[s]);
                break;
            }
        }

        return new NoSlotExplanation(common, neverFree);
    }

    private static EmptyingConstraint Constraint(Stage stage) => stage switch
    {
        Stage.Hours => EmptyingConstraint.WorkingHours,
        Stage.Holidays => EmptyingConstraint.PublicHolidays,
        Stage.Absences => EmptyingConstraint.Absences,
        Stage.Busy => EmptyingConstraint.BusyPeriods,
        _ => EmptyingConstraint.Buffers,
    };

    private static long AlignUp(long ticks, long granularity)
    {
        var remainder = ((ticks % granularity) + granularity) % granularity;
        return remainder == 0 ? ticks : ticks + granularity - remainder;
    }
}
