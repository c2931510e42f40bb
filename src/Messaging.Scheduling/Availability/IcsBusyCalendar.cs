using Ical.Net;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using NodaTime;
using NodaTime.TimeZones;

namespace Messaging.Scheduling.Availability;

/// <summary>An iCalendar feed that is not a usable calendar. Nothing was kept from it.</summary>
public sealed class CalendarFeedMalformedException : FormatException
{
    public CalendarFeedMalformedException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>
/// The busy time of an external iCalendar feed (VEVENT with RRULE/EXDATE/RECURRENCE-ID, all-day events, foreign time
/// zones, VFREEBUSY), compiled once and then expanded on demand for each search window only.
/// <para>
/// Daily, weekly and monthly rules (the bulk of real calendars: weekly team meetings, daily stand-ups, a first-Wednesday
/// meeting) are compiled into <see cref="CompiledRule"/>, which jumps straight to the first occurrence that can meet the
/// window by arithmetic and walks only the occurrences inside it. Any other rule is expanded by Ical.Net, lazily, from
/// the window's start and stopped at its end (Ical.Net still evaluates from DTSTART internally, so this path is slower). Overridden occurrences (RECURRENCE-ID) replace the occurrence they name; cancelled or transparent events are
/// free time.
/// </para>
/// </summary>
public sealed class IcsBusyCalendar : BusySource
{
    private readonly FixedBusy _singles;
    private readonly IReadOnlyList<BusySource> _series;

    private IcsBusyCalendar(FixedBusy singles, IReadOnlyList<BusySource> series)
    {
        _singles = singles;
        _series = series;
    }

    /// <summary>How many recurring series are expanded by the compiled fast path and by Ical.Net.</summary>
    public (int Compiled, int IcalNet, int Single) Shape => (_series.Count(s => s is CompiledRule), _series.Count(s => s is not CompiledRule), _singles.Count);

    /// <summary>Parses and compiles a feed. Floating and all-day times are read in <paramref name="localZone"/>.</summary>
    /// <exception cref="CalendarFeedMalformedException">The text is not an iCalendar object, or an event is unusable.</exception>
    public static IcsBusyCalendar Parse(string text, DateTimeZone localZone)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(localZone);
        Calendar? calendar;
        try
        {
            calendar = text.TrimStart().StartsWith("BEGIN:VCALENDAR", StringComparison.OrdinalIgnoreCase) ? Calendar.Load(text) : null;
        }
#pragma warning disable CA1031 // A third-party parser may throw anything on hostile input; all of it means "malformed".
        catch (Exception e)
#pragma warning restore CA1031
        {
            throw new CalendarFeedMalformedException("The feed is not a valid iCalendar object.", e);
        }

        if (calendar is null)
        {
            throw new CalendarFeedMalformedException("The feed is not an iCalendar object.");
        }

        try
        {
            return Compile(calendar, text, localZone);
        }
        catch (Exception e) when (e is not CalendarFeedMalformedException and not OutOfMemoryException)
        {
            throw new CalendarFeedMalformedException("An event of the feed cannot be read.", e);
        }
    }

    private static IcsBusyCalendar Compile(Calendar calendar, string text, DateTimeZone localZone)
    {
        var singles = new List<Span>();
        var series = new List<BusySource>();
        var events = calendar.Events.ToList();

        // RECURRENCE-ID: an override replaces the occurrence it names (cancelled overrides just remove it).
        var overridden = new Dictionary<string, HashSet<long>>(StringComparer.Ordinal);
        foreach (var evt in events.Where(e => e.RecurrenceIdentifier is not null))
        {
            var uid = evt.Uid ?? string.Empty;
            if (!overridden.TryGetValue(uid, out var set))
            {
                overridden[uid] = set = [];
            }

            set.Add(ToInstant(evt.RecurrenceIdentifier!.StartTime, localZone).ToUnixTimeTicks());
        }

        foreach (var evt in events)
        {
            if (IsFree(evt) || evt.DtStart is null)
            {
                continue;
            }

            var isRecurring = evt.RecurrenceIdentifier is null && (evt.RecurrenceRule is not null || evt.RecurrenceDates.GetAllDates().Any());
            if (!isRecurring)
            {
                var (start, end) = Bounds(evt, evt.DtStart, localZone);
                singles.Add(new Span(start.ToUnixTimeTicks(), end.ToUnixTimeTicks()));
                continue;
            }

            var skip = overridden.TryGetValue(evt.Uid ?? string.Empty, out var o) ? o : [];
            series.Add(CompiledRule.TryCompile(evt, localZone, skip) ?? new IcalNetSeries(evt, localZone, skip));
        }

        singles.AddRange(FreeBusyPeriods(text));
        return new IcsBusyCalendar(new FixedBusy(singles), series);
    }

    /// <summary>
    /// The busy periods of VFREEBUSY components, read from the text: Ical.Net 5.2 parses FREEBUSY values to empty
    /// entries. RFC 5545 §3.8.2.6: values are UTC periods (start/end or start/duration), FBTYPE defaults to BUSY.
    /// </summary>
    private static IEnumerable<Span> FreeBusyPeriods(string text)
    {
        var inFreeBusy = false;
        foreach (var line in Unfold(text))
        {
            if (line.Equals("BEGIN:VFREEBUSY", StringComparison.OrdinalIgnoreCase))
            {
                inFreeBusy = true;
            }
            else if (line.Equals("END:VFREEBUSY", StringComparison.OrdinalIgnoreCase))
            {
                inFreeBusy = false;
            }
            else if (inFreeBusy && (line.StartsWith("FREEBUSY:", StringComparison.OrdinalIgnoreCase) || line.StartsWith("FREEBUSY;", StringComparison.OrdinalIgnoreCase)))
            {
                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var parameters = line[..colon].ToUpperInvariant();
                if (parameters.Contains("FBTYPE=FREE", StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (var period in line[(colon + 1)..].Split(','))
                {
                    var parts = period.Trim().Split('/');
                    var start = parts.Length == 2 ? UtcPattern.Parse(parts[0]) : null;
                    if (start is null || !start.Success)
                    {
                        throw new CalendarFeedMalformedException("A FREEBUSY period is not a UTC period.");
                    }

                    var end = UtcPattern.Parse(parts[1]);
                    var stop = end.Success
                        ? end.Value
                        : start.Value + ToDuration(Ical.Net.DataTypes.Duration.Parse(parts[1]) ?? throw new CalendarFeedMalformedException("A FREEBUSY period has no end."));
                    yield return Span.Of(start.Value, stop);
                }
            }
        }
    }

    private static readonly NodaTime.Text.InstantPattern UtcPattern = NodaTime.Text.InstantPattern.CreateWithInvariantCulture("uuuuMMdd'T'HHmmss'Z'");

    private static IEnumerable<string> Unfold(string text)
    {
        var current = new System.Text.StringBuilder();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length > 0 && (line[0] == ' ' || line[0] == '\t'))
            {
                current.Append(line, 1, line.Length - 1);
                continue;
            }

            if (current.Length > 0)
            {
                yield return current.ToString();
            }

            current.Clear().Append(line);
        }

        if (current.Length > 0)
        {
            yield return current.ToString();
        }
    }

    internal override void Collect(long from, long to, List<Span> sink)
    {
        _singles.Collect(from, to, sink);
        foreach (var source in _series)
        {
            source.Collect(from, to, sink);
        }
    }

    private static bool IsFree(CalendarEvent evt)
        => string.Equals(evt.Status, "CANCELLED", StringComparison.OrdinalIgnoreCase)
            || string.Equals(evt.Transparency, "TRANSPARENT", StringComparison.OrdinalIgnoreCase);

    /// <summary>The instant of an iCalendar date-time: UTC, in its TZID (IANA or Windows name), or floating in the local
    /// zone; a date alone is its local midnight.</summary>
    internal static Instant ToInstant(CalDateTime value, DateTimeZone localZone)
    {
        var local = LocalDateTime.FromDateTime(value.Value);
        if (value.IsUtc)
        {
            return local.InUtc().ToInstant();
        }

        return ZoneOf(value, localZone).ResolveLocal(local, Resolvers.LenientResolver).ToInstant();
    }

    internal static DateTimeZone ZoneOf(CalDateTime value, DateTimeZone localZone)
    {
        if (value.IsUtc)
        {
            return DateTimeZone.Utc;
        }

        if (value.IsFloating || !value.HasTime || string.IsNullOrEmpty(value.TzId))
        {
            return localZone;
        }

        return DefaultTimeZoneResolver.GetZone(value.TzId)
            ?? throw new CalendarFeedMalformedException("An event names an unknown time zone.");
    }

    /// <summary>The start and end of an occurrence starting at <paramref name="start"/>: DTEND, DURATION, one day for an
    /// all-day event, or nothing (an instant) for a timed event without either.</summary>
    internal static (Instant Start, Instant End) Bounds(CalendarEvent evt, CalDateTime start, DateTimeZone localZone)
    {
        var s = ToInstant(start, localZone);
        if (!start.HasTime)
        {
            var days = evt.DtEnd is { HasTime: false } end ? Math.Max(1, NodaTime.Period.Between(evt.DtStart!.Date.ToLocalDate(), end.Date.ToLocalDate(), PeriodUnits.Days).Days) : 1;
            var endDate = LocalDate.FromDateOnly(start.Date).PlusDays(days);
            return (s, localZone.ResolveLocal(endDate.AtMidnight(), Resolvers.LenientResolver).ToInstant());
        }

        return (s, s + NominalDuration(evt, localZone));
    }

    internal static NodaTime.Duration NominalDuration(CalendarEvent evt, DateTimeZone localZone)
    {
        if (evt.DtEnd is not null)
        {
            var d = ToInstant(evt.DtEnd, localZone) - ToInstant(evt.DtStart!, localZone);
            return d < NodaTime.Duration.Zero ? NodaTime.Duration.Zero : d;
        }

        return evt.Duration is { } duration ? ToDuration(duration) : NodaTime.Duration.Zero;
    }

    private static NodaTime.Duration ToDuration(Ical.Net.DataTypes.Duration duration)
    {
        var sign = duration.Sign < 0 ? -1 : 1;
        return sign * (NodaTime.Duration.FromDays(((duration.Weeks ?? 0) * 7) + (duration.Days ?? 0)) + NodaTime.Duration.FromHours(duration.Hours ?? 0)
            + NodaTime.Duration.FromMinutes(duration.Minutes ?? 0) + NodaTime.Duration.FromSeconds(duration.Seconds ?? 0));
    }
}

internal static class DateOnlyExtensions
{
    public static LocalDate ToLocalDate(this DateOnly date) => LocalDate.FromDateOnly(date);
}
