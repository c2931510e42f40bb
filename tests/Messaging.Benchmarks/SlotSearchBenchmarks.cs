using System.Globalization;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Messaging.Scheduling.Availability;
using NodaTime;
using CalDateTime = Ical.Net.DataTypes.CalDateTime;
using Calendar = Ical.Net.Calendar;

namespace Messaging.Benchmarks;

/// <summary>
/// Slot search for 3 participants over 90 days (issue 13). Each participant's external calendar holds a year of
/// recurring busy events (weekly meetings on several days, a daily stand-up, a fortnightly and a monthly meeting) with
/// EXDATEs and moved occurrences (RECURRENCE-ID), plus one-off events. Both rows parse nothing during the measurement
/// (the feeds are loaded once) and end with the same interval arithmetic; they differ in how busy time is expanded:
/// <list type="bullet">
/// <item><see cref="WindowedSearch"/>: <see cref="SlotSearch.Find"/>, which asks each source for the window only
/// (compiled daily/weekly rules jump to the window, other rules are expanded lazily by Ical.Net from the window's
/// start).</item>
/// <item><see cref="NaiveExpandThenIntersect"/>: every occurrence of the year expanded with Ical.Net
/// (<c>Calendar.GetOccurrences</c>), then converted and intersected.</item>
/// </list>
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 10)]
public class SlotSearchBenchmarks
{
    private static readonly Instant Now = Instant.FromUtc(2027, 3, 1, 7, 0);
    private static readonly WorkingHours Hours = WorkingHours.Weekdays(
        new WorkingPeriod(new LocalTime(9, 0), new LocalTime(12, 30)), new WorkingPeriod(new LocalTime(13, 30), new LocalTime(17, 0)));

    private string[] _feeds = [];
    private IcsBusyCalendar[] _compiled = [];
    private Calendar[] _calendars = [];

    [GlobalSetup]
    public void Setup()
    {
        _feeds = [.. Enumerable.Range(0, 3).Select(Feed)];
        _compiled = [.. _feeds.Select(f => IcsBusyCalendar.Parse(f, SlotSearch.Brussels))];
        _calendars = [.. _feeds.Select(f => Calendar.Load(f)!)];

        // Both approaches must agree before either is measured.
        var fast = WindowedSearch();
        var naive = NaiveExpandThenIntersect();
        if (!fast.SequenceEqual(naive) || fast.Count == 0)
        {
            throw new InvalidOperationException("The windowed and the naive search disagree.");
        }
    }

    [Benchmark(Description = "Windowed: expand on demand, clipped to the 90-day window")]
    public IReadOnlyList<Interval> WindowedSearch()
    {
        var participants = _compiled.Select((c, i) => new ParticipantAvailability($"p{i}", Hours, Community.French, [], [c], [])).ToList();
        return SlotSearch.Find(new SlotSearchRequest(participants, Duration.FromHours(1), Now, Count: 5)
        {
            BufferBefore = Duration.FromMinutes(15),
            BufferAfter = Duration.FromMinutes(15),
        }).Slots;
    }

    [Benchmark(Baseline = true, Description = "Naive: expand every occurrence of the year with Ical.Net, then intersect")]
    public IReadOnlyList<Interval> NaiveExpandThenIntersect()
    {
        var yearStart = new CalDateTime(2026, 6, 1, 0, 0, 0, "UTC");
        var yearEnd = Instant.FromUtc(2027, 6, 1, 0, 0);
        var busy = _calendars.Select(calendar => (BusySource)new FixedBusy(calendar.GetOccurrences(yearStart, null)
            .Select(o => new Interval(Instant.FromDateTimeUtc(o.Period.StartTime.AsUtc), Instant.FromDateTimeUtc(o.Period.EffectiveEndTime!.AsUtc)))
            .TakeWhile(i => i.Start < yearEnd)
            .ToList())).ToList();
        var participants = busy.Select((b, i) => new ParticipantAvailability($"p{i}", Hours, Community.French, [], [b], [])).ToList();
        return SlotSearch.Find(new SlotSearchRequest(participants, Duration.FromHours(1), Now, Count: 5)
        {
            BufferBefore = Duration.FromMinutes(15),
            BufferAfter = Duration.FromMinutes(15),
        }).Slots;
    }

    /// <summary>A year (June 2026 – May 2027) of one participant's recurring meetings, shifted per participant.</summary>
    internal static string Feed(int participant)
    {
        var text = new StringBuilder("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//bench//EN\r\n");
        var shift = participant * 30;
        void Event(string uid, string start, int minutes, string rule, string? extra = null)
            => text.Append(CultureInfo.InvariantCulture, $"BEGIN:VEVENT\r\nUID:{uid}-{participant}@bench\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Brussels:{start}\r\n")
                .Append(CultureInfo.InvariantCulture, $"DURATION:PT{minutes}M\r\n{rule}{extra}END:VEVENT\r\n");
        string At(int day, int hour, int minute) => new LocalDateTime(2026, 6, 1, hour, minute).PlusDays(day).PlusMinutes(shift).ToString("yyyyMMdd'T'HHmmss", CultureInfo.InvariantCulture);

        Event("standup", At(0, 9, 0), 15, "RRULE:FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;UNTIL=20270601T000000Z\r\n",
            $"EXDATE;TZID=Europe/Brussels:{At(280, 9, 0)},{At(281, 9, 0)},{At(300, 9, 0)}\r\n");
        Event("team", At(1, 10, 0), 90, "RRULE:FREQ=WEEKLY;BYDAY=TU,TH;UNTIL=20270601T000000Z\r\n",
            $"EXDATE;TZID=Europe/Brussels:{At(276, 10, 0)},{At(283, 10, 0)}\r\n");
        Event("clients", At(0, 14, 0), 120, "RRULE:FREQ=WEEKLY;BYDAY=MO,WE,FR;UNTIL=20270601T000000Z\r\n");
        Event("supervision", At(3, 11, 0), 60, "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;COUNT=26\r\n");
        Event("network", At(2, 15, 0), 90, "RRULE:FREQ=MONTHLY;BYDAY=1WE;UNTIL=20270601T000000Z\r\n");
        Event("permanence", At(4, 9, 30), 180, "RRULE:FREQ=WEEKLY;BYDAY=FR;UNTIL=20270601T000000Z\r\n");

        // Moved occurrences of the team meeting (RECURRENCE-ID) and one-off events.
        foreach (var day in new[] { 274, 288, 302 })
        {
            text.Append(CultureInfo.InvariantCulture, $"BEGIN:VEVENT\r\nUID:team-{participant}@bench\r\nDTSTAMP:20260101T000000Z\r\n")
                .Append(CultureInfo.InvariantCulture, $"RECURRENCE-ID;TZID=Europe/Brussels:{At(day, 10, 0)}\r\nDTSTART;TZID=Europe/Brussels:{At(day + 1, 15, 0)}\r\n")
                .Append("DURATION:PT90M\r\nEND:VEVENT\r\n");
        }

        for (var day = 5; day < 360; day += 7)
        {
            text.Append(CultureInfo.InvariantCulture, $"BEGIN:VEVENT\r\nUID:oneoff-{day}-{participant}@bench\r\nDTSTAMP:20260101T000000Z\r\n")
                .Append(CultureInfo.InvariantCulture, $"DTSTART;TZID=Europe/Brussels:{At(day, 16, 0)}\r\nDURATION:PT45M\r\nEND:VEVENT\r\n");
        }

        return text.Append("END:VCALENDAR\r\n").ToString();
    }
}
