using Ical.Net;
using Ical.Net.CalendarComponents;
using Ical.Net.DataTypes;
using NodaTime;
using NodaTime.TimeZones;
using NodaTime.Utility;

namespace Messaging.Scheduling.Availability;

/// <summary>
/// A DAILY or WEEKLY RRULE (INTERVAL, BYDAY without ordinals, COUNT, UNTIL, WKST), or a MONTHLY one (INTERVAL, UNTIL,
/// BYMONTHDAY or BYDAY with ordinals such as 1WE or -1FR, no COUNT), with EXDATEs and overridden
/// occurrences, expanded by arithmetic: the first period (day or week) that can meet a window is computed directly, so a
/// query costs the occurrences inside the window, whatever the series' length before it. Occurrences keep their local
/// wall-clock time in the event's zone across daylight-saving changes (RFC 5545 §3.3.10), resolved leniently.
/// </summary>
internal sealed class CompiledRule : BusySource
{
    private readonly LocalDate _firstDate;
    private readonly LocalTime _time;
    private readonly bool _allDay;
    private readonly int _allDayLength;
    private readonly long _duration;
    private readonly DateTimeZone _zone;
    private readonly bool _weekly;
    private readonly bool _monthly;
    private readonly bool _dailyByDay;
    private readonly int[] _byMonthDay;
    private readonly (IsoDayOfWeek Day, int? Offset)[] _monthlyByDay;
    private readonly int _interval;
    private readonly int? _count;
    private readonly long? _until;
    private readonly bool[] _byDay; // indexed by IsoDayOfWeek (1..7)
    private readonly int[] _weekOffsets; // days from the week start, in order
    private readonly LocalDate _firstWeekStart;
    private readonly int _firstWeekCount;
    private readonly HashSet<long> _skipInstants;
    private readonly HashSet<LocalDate> _skipDates;

    private CompiledRule(CalendarEvent evt, RecurrenceRule rule, DateTimeZone localZone, HashSet<long> overridden)
    {
        var start = evt.DtStart!;
        _zone = IcsBusyCalendar.ZoneOf(start, localZone);
        var local = LocalDateTime.FromDateTime(start.Value);
        _firstDate = local.Date;
        _time = local.TimeOfDay;
        _allDay = !start.HasTime;
        var (s, e) = IcsBusyCalendar.Bounds(evt, start, localZone);
        _duration = (e - s).BclCompatibleTicks;
        _allDayLength = _allDay ? (int)Math.Max(1, (e - s).BclCompatibleTicks / TimeSpan.TicksPerDay) : 0;
        _weekly = rule.Frequency == FrequencyType.Weekly;
        _monthly = rule.Frequency == FrequencyType.Monthly;
        _dailyByDay = !_weekly && !_monthly && rule.ByDay.Count > 0;
        _byMonthDay = [.. rule.ByMonthDay];
        _monthlyByDay = [.. rule.ByDay.Select(d => (BclConversions.ToIsoDayOfWeek(d.DayOfWeek), d.Offset))];
        _interval = Math.Max(1, rule.Interval);
        _count = rule.Count;
        _until = rule.Until is null ? null : UntilTicks(rule.Until, localZone);
        _byDay = new bool[8];
        if (rule.ByDay.Count == 0)
        {
            _byDay[(int)_firstDate.DayOfWeek] = true;
        }
        else
        {
            foreach (var day in rule.ByDay)
            {
                _byDay[(int)BclConversions.ToIsoDayOfWeek(day.DayOfWeek)] = true;
            }
        }

        var weekStart = BclConversions.ToIsoDayOfWeek(rule.FirstDayOfWeek);
        _firstWeekStart = _firstDate.With(DateAdjusters.PreviousOrSame(weekStart));
        _weekOffsets = [.. Enumerable.Range(0, 7).Where(i => _byDay[(int)_firstWeekStart.PlusDays(i).DayOfWeek])];
        _firstWeekCount = _weekOffsets.Count(i => _firstWeekStart.PlusDays(i) >= _firstDate);

        _skipInstants = [.. overridden];
        _skipDates = [];
        foreach (var ex in evt.ExceptionDates.GetAllDates())
        {
            if (ex.HasTime)
            {
                _skipInstants.Add(IcsBusyCalendar.ToInstant(ex, localZone).ToUnixTimeTicks());
            }
            else
            {
                _skipDates.Add(LocalDate.FromDateOnly(ex.Date));
            }
        }
    }

    /// <summary>The compiled rule, or null when the event's recurrence is outside the compiled subset.</summary>
    public static BusySource? TryCompile(CalendarEvent evt, DateTimeZone localZone, HashSet<long> overridden)
    {
#pragma warning disable CS0618 // Several RRULEs and EXRULE are deprecated but still read: such events take the Ical.Net path.
        if (evt.RecurrenceRules.Count != 1 || evt.ExceptionRules.Count > 0 || evt.RecurrenceDates.GetAllDates().Any()
            || evt.RecurrenceRule is not { } rule)
#pragma warning restore CS0618
        {
            return null;
        }

        var simple = rule.BySecond.Count == 0 && rule.ByMinute.Count == 0 && rule.ByHour.Count == 0
            && rule.ByYearDay.Count == 0 && rule.ByWeekNo.Count == 0 && rule.ByMonth.Count == 0 && rule.BySetPosition.Count == 0;

        // DAILY with BYDAY and COUNT counts only matching days: the index arithmetic below would not hold. MONTHLY is
        // compiled without COUNT, with either BYMONTHDAY (1–31) or BYDAY (ordinals allowed), not both.
        var plainDays = rule.ByMonthDay.Count == 0 && rule.ByDay.TrueForAll(d => d.Offset is null);
        var supported = rule.Frequency switch
        {
            FrequencyType.Weekly => plainDays,
            FrequencyType.Daily => plainDays && (rule.ByDay.Count == 0 || rule.Count is null),
            FrequencyType.Monthly => rule.Count is null && (rule.ByDay.Count == 0 || rule.ByMonthDay.Count == 0)
                && rule.ByMonthDay.TrueForAll(d => d is >= 1 and <= 31) && rule.ByDay.TrueForAll(d => d.Offset is null or (>= -5 and <= 5 and not 0)),
            _ => false,
        };
        return simple && supported ? new CompiledRule(evt, rule, localZone, overridden) : null;
    }

    internal override void Collect(long from, long to, List<Span> sink)
    {
        // Local dates that can hold an occurrence meeting the window (a day of slack for the zone offset).
        var firstDay = Instant.FromUnixTimeTicks(from - _duration).InZone(_zone).Date.PlusDays(-1);
        var lastDay = Instant.FromUnixTimeTicks(to).InZone(_zone).Date.PlusDays(1);
        if (lastDay < _firstDate)
        {
            return;
        }

        if (_monthly)
        {
            CollectMonthly(firstDay, lastDay, from, to, sink);
        }
        else if (_weekly)
        {
            CollectWeekly(firstDay, lastDay, from, to, sink);
        }
        else
        {
            CollectDaily(firstDay, lastDay, from, to, sink);
        }
    }

    private void CollectDaily(LocalDate firstDay, LocalDate lastDay, long from, long to, List<Span> sink)
    {
        var daysFromStart = NodaTime.Period.Between(_firstDate, firstDay, PeriodUnits.Days).Days;
        var n = daysFromStart <= 0 ? 0 : (daysFromStart + _interval - 1) / _interval;
        for (var date = _firstDate.PlusDays(n * _interval); date <= lastDay; date = date.PlusDays(_interval), n++)
        {
            if (_count is { } count && n >= count)
            {
                return;
            }

            if (!_dailyByDay || _byDay[(int)date.DayOfWeek])
            {
                if (!Emit(date, from, to, sink))
                {
                    return;
                }
            }
        }
    }

    private void CollectWeekly(LocalDate firstDay, LocalDate lastDay, long from, long to, List<Span> sink)
    {
        var weeksFromStart = NodaTime.Period.Between(_firstWeekStart, firstDay, PeriodUnits.Days).Days / 7;
        var m = weeksFromStart <= 0 ? 0 : weeksFromStart / _interval;
        for (var weekStart = _firstWeekStart.PlusDays(7 * m * _interval); weekStart <= lastDay; weekStart = weekStart.PlusDays(7 * _interval), m++)
        {
            for (var j = 0; j < _weekOffsets.Length; j++)
            {
                var date = weekStart.PlusDays(_weekOffsets[j]);
                if (date < _firstDate)
                {
                    continue;
                }

                if (_count is { } count)
                {
                    // Occurrences before this one: those of the first week on or after DTSTART, then full weeks.
                    var index = m == 0
                        ? _weekOffsets.Take(j).Count(o => _firstWeekStart.PlusDays(o) >= _firstDate)
                        : _firstWeekCount + ((m - 1) * _weekOffsets.Length) + j;

                    if (index >= count)
                    {
                        return;
                    }
                }

                if (date > lastDay)
                {
                    return;
                }

                if (!Emit(date, from, to, sink))
                {
                    return;
                }
            }
        }
    }

    private void CollectMonthly(LocalDate firstDay, LocalDate lastDay, long from, long to, List<Span> sink)
    {
        static int MonthIndex(LocalDate date) => (date.Year * 12) + date.Month - 1;
        var first = MonthIndex(_firstDate);
        var skip = Math.Max(0, MonthIndex(firstDay) - first) / _interval;
        var dates = new List<LocalDate>(8);
        for (var index = first + (skip * _interval); index <= MonthIndex(lastDay); index += _interval)
        {
            dates.Clear();
            DatesInMonth(index / 12, (index % 12) + 1, dates);
            foreach (var date in dates)
            {
                if (date < _firstDate)
                {
                    continue;
                }

                if (date > lastDay || !Emit(date, from, to, sink))
                {
                    return;
                }
            }
        }
    }

    /// <summary>The days of one month the rule names, in order (RFC 5545 §3.3.10: BYMONTHDAY, or BYDAY with optional
    /// ordinals, or DTSTART's day of the month; days a month lacks are skipped).</summary>
    private void DatesInMonth(int year, int month, List<LocalDate> dates)
    {
        var length = CalendarSystem.Iso.GetDaysInMonth(year, month);
        if (_byMonthDay.Length > 0)
        {
            dates.AddRange(_byMonthDay.Where(d => d <= length).Select(d => new LocalDate(year, month, d)));
        }
        else if (_monthlyByDay.Length > 0)
        {
            var firstOfMonth = new LocalDate(year, month, 1);
            var lastOfMonth = new LocalDate(year, month, length);
            foreach (var (day, offset) in _monthlyByDay)
            {
                var firstSuch = firstOfMonth.With(DateAdjusters.NextOrSame(day));
                var lastSuch = lastOfMonth.With(DateAdjusters.PreviousOrSame(day));
                if (offset is null)
                {
                    for (var d = firstSuch; d <= lastOfMonth; d = d.PlusDays(7))
                    {
                        dates.Add(d);
                    }
                }
                else
                {
                    var d = offset > 0 ? firstSuch.PlusDays(7 * (offset.Value - 1)) : lastSuch.PlusDays(7 * (offset.Value + 1));
                    if (d.Month == month && d.Year == year)
                    {
                        dates.Add(d);
                    }
                }
            }
        }
        else if (_firstDate.Day <= length)
        {
            dates.Add(new LocalDate(year, month, _firstDate.Day));
        }

        dates.Sort();
        for (var i = dates.Count - 1; i > 0; i--)
        {
            if (dates[i] == dates[i - 1])
            {
                dates.RemoveAt(i);
            }
        }
    }

    /// <summary>Adds the occurrence on <paramref name="date"/>; false once past UNTIL.</summary>
    private bool Emit(LocalDate date, long from, long to, List<Span> sink)
    {
        long start, end;
        if (_allDay)
        {
            start = _zone.ResolveLocal(date.AtMidnight(), Resolvers.LenientResolver).ToInstant().ToUnixTimeTicks();
            end = _zone.ResolveLocal(date.PlusDays(_allDayLength).AtMidnight(), Resolvers.LenientResolver).ToInstant().ToUnixTimeTicks();
        }
        else
        {
            start = _zone.ResolveLocal(date + _time, Resolvers.LenientResolver).ToInstant().ToUnixTimeTicks();
            end = start + _duration;
        }

        if (_until is { } until && start > until)
        {
            return false;
        }

        if (_skipDates.Contains(date) || _skipInstants.Contains(start))
        {
            return true;
        }

        AddClipped(sink, start, end, from, to);
        return true;
    }

    private long UntilTicks(CalDateTime until, DateTimeZone localZone)
    {
        // A date-only UNTIL includes that whole local day.
        return until.HasTime
            ? IcsBusyCalendar.ToInstant(until, localZone).ToUnixTimeTicks()
            : _zone.ResolveLocal(LocalDate.FromDateOnly(until.Date).PlusDays(1).AtMidnight(), Resolvers.LenientResolver).ToInstant().ToUnixTimeTicks() - 1;
    }
}

/// <summary>
/// Any other recurrence, expanded by Ical.Net lazily from the first moment that can meet the window and stopped at the
/// window's end (never a whole series).
/// </summary>
internal sealed class IcalNetSeries : BusySource
{
    private readonly CalendarEvent _event;
    private readonly DateTimeZone _localZone;
    private readonly HashSet<long> _overridden;
    private readonly long _duration;

    public IcalNetSeries(CalendarEvent evt, DateTimeZone localZone, HashSet<long> overridden)
    {
        _event = evt;
        _localZone = localZone;
        _overridden = overridden;
        var (s, e) = IcsBusyCalendar.Bounds(evt, evt.DtStart!, localZone);
        _duration = (e - s).BclCompatibleTicks + TimeSpan.TicksPerDay; // a day of slack for floating and all-day starts
    }

    internal override void Collect(long from, long to, List<Span> sink)
    {
        var startUtc = Instant.FromUnixTimeTicks(from - _duration).ToDateTimeUtc();
        var start = new CalDateTime(startUtc, CalDateTime.UtcTzId);
        foreach (var occurrence in _event.GetOccurrences(start, null))
        {
            var (s, e) = IcsBusyCalendar.Bounds(_event, occurrence.Period.StartTime, _localZone);
            var startTicks = s.ToUnixTimeTicks();
            if (startTicks >= to)
            {
                break;
            }

            if (!_overridden.Contains(startTicks))
            {
                AddClipped(sink, startTicks, e.ToUnixTimeTicks(), from, to);
            }
        }
    }
}
