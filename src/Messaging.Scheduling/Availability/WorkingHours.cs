using NodaTime;
using NodaTime.TimeZones;

namespace Messaging.Scheduling.Availability;

/// <summary>One working period of a weekday, local time (e.g. 09:00–12:30).</summary>
public sealed record WorkingPeriod(LocalTime From, LocalTime To);

/// <summary>
/// A worker's weekly working hours in local time (Europe/Brussels for every service of the protocol). Held as local
/// times on purpose: a 10:00–12:00 period is 10:00–12:00 on both sides of a daylight-saving change (08:00Z in summer,
/// 09:00Z in winter).
/// </summary>
public sealed class WorkingHours
{
    private readonly Dictionary<IsoDayOfWeek, WorkingPeriod[]> _days;

    private WorkingHours(Dictionary<IsoDayOfWeek, WorkingPeriod[]> days) => _days = days;

    /// <summary>The periods of a weekday, in order (none on a day off).</summary>
    public IReadOnlyList<WorkingPeriod> On(IsoDayOfWeek day) => _days.TryGetValue(day, out var periods) ? periods : [];

    /// <summary>Working hours from a map of weekday to periods.</summary>
    /// <exception cref="ArgumentException">A period is empty or periods of one day overlap.</exception>
    public static WorkingHours Create(IReadOnlyDictionary<IsoDayOfWeek, IReadOnlyList<WorkingPeriod>> days)
    {
        ArgumentNullException.ThrowIfNull(days);
        var map = new Dictionary<IsoDayOfWeek, WorkingPeriod[]>();
        foreach (var (day, periods) in days)
        {
            var sorted = periods.OrderBy(p => p.From).ToArray();
            for (var i = 0; i < sorted.Length; i++)
            {
                if (sorted[i].To <= sorted[i].From || (i > 0 && sorted[i].From < sorted[i - 1].To))
                {
                    throw new ArgumentException($"Working periods of {day} must be non-empty and must not overlap.", nameof(days));
                }
            }

            map[day] = sorted;
        }

        return new WorkingHours(map);
    }

    /// <summary>The same periods Monday to Friday.</summary>
    public static WorkingHours Weekdays(params WorkingPeriod[] periods) => Create(new Dictionary<IsoDayOfWeek, IReadOnlyList<WorkingPeriod>>
    {
        [IsoDayOfWeek.Monday] = periods,
        [IsoDayOfWeek.Tuesday] = periods,
        [IsoDayOfWeek.Wednesday] = periods,
        [IsoDayOfWeek.Thursday] = periods,
        [IsoDayOfWeek.Friday] = periods,
    });

    /// <summary>
    /// The working spans meeting [<paramref name="from"/>, <paramref name="to"/>), with or without public holidays.
    /// Local times map to instants with the lenient resolver: a time in a spring-forward gap moves forward by the gap
    /// (RFC 5545 §3.3.5), an ambiguous autumn time takes its earlier instant.
    /// </summary>
    internal List<Span> Spans(long from, long to, DateTimeZone zone, Community community, bool closeOnHolidays)
    {
        var result = new List<Span>();
        var first = Instant.FromUnixTimeTicks(from).InZone(zone).Date;
        var last = Instant.FromUnixTimeTicks(to).InZone(zone).Date;
        IReadOnlyList<PublicHoliday> holidays = [];
        var holidayYear = 0;
        for (var date = first; date <= last; date = date.PlusDays(1))
        {
            if (!_days.TryGetValue(date.DayOfWeek, out var periods))
            {
                continue;
            }

            if (closeOnHolidays)
            {
                if (holidayYear != date.Year)
                {
                    holidays = BelgianHolidays.For(date.Year, community);
                    holidayYear = date.Year;
                }

                if (holidays.Any(h => h.Date == date))
                {
                    continue;
                }
            }

            foreach (var period in periods)
            {
                var start = zone.ResolveLocal(date + period.From, Resolvers.LenientResolver).ToInstant().ToUnixTimeTicks();
                var end = zone.ResolveLocal(date + period.To, Resolvers.LenientResolver).ToInstant().ToUnixTimeTicks();
                start = Math.Max(start, from);
                end = Math.Min(end, to);
                if (start < end)
                {
                    result.Add(new Span(start, end));
                }
            }
        }

        return result;
    }
}
