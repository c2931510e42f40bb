using Ical.Net;
using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Tests.Infrastructure;
using NodaTime;

namespace Messaging.Scheduling.Tests.Availability;

public class IcsBusyCalendarTests
{
    private static string Feed(params string[] components) =>
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" + string.Join("\r\n", components) + "\r\nEND:VCALENDAR\r\n";

    private static readonly string WeeklyWithExceptions = Feed(
        "BEGIN:VEVENT\r\nUID:team@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Brussels:20260106T100000\r\nDTEND;TZID=Europe/Brussels:20260106T110000\r\n"
        + "RRULE:FREQ=WEEKLY;BYDAY=TU,TH\r\nEXDATE;TZID=Europe/Brussels:20270325T100000\r\nEND:VEVENT",
        "BEGIN:VEVENT\r\nUID:team@x\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Brussels:20270330T100000\r\n"
        + "DTSTART;TZID=Europe/Brussels:20270331T140000\r\nDTEND;TZID=Europe/Brussels:20270331T150000\r\nEND:VEVENT");

    [Fact]
    public void WeeklyRule_WithExdateAndMovedOccurrence_IsBusyExactlyWhenTheCalendarSays_AcrossTheSpringChange()
    {
        var calendar = IcsBusyCalendar.Parse(WeeklyWithExceptions, SlotSearch.Brussels);
        var busy = calendar.BusyIn(new Interval(Samples.At("2027-03-22T00:00:00"), Samples.At("2027-04-03T00:00:00")));

        Assert.Equal(
            [
                new Interval(Samples.Utc("2027-03-23T09:00:00Z"), Samples.Utc("2027-03-23T10:00:00Z")), // Tue, winter time
                // Thu 25 is an EXDATE; Tue 30 moved to Wed 31 14:00; Thu 1 April in summer time: 10:00 local = 08:00Z.
                new Interval(Samples.Utc("2027-03-31T12:00:00Z"), Samples.Utc("2027-03-31T13:00:00Z")),
                new Interval(Samples.Utc("2027-04-01T08:00:00Z"), Samples.Utc("2027-04-01T09:00:00Z")),
            ],
            busy);
        Assert.Equal((1, 0, 1), calendar.Shape);
    }

    [Theory]
    [InlineData("FREQ=WEEKLY;BYDAY=MO,WE,FR")]
    [InlineData("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;WKST=SU")]
    [InlineData("FREQ=WEEKLY;INTERVAL=3")]
    [InlineData("FREQ=WEEKLY;BYDAY=MO,TH;COUNT=150")]
    [InlineData("FREQ=WEEKLY;BYDAY=WE;COUNT=60")]
    [InlineData("FREQ=DAILY")]
    [InlineData("FREQ=DAILY;INTERVAL=3;COUNT=200")]
    [InlineData("FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR")]
    [InlineData("FREQ=DAILY;UNTIL=20270310T090000Z")]
    [InlineData("FREQ=WEEKLY;BYDAY=FR;UNTIL=20270401")]
    [InlineData("FREQ=MONTHLY;BYDAY=1WE")]
    [InlineData("FREQ=MONTHLY;BYDAY=-1FR,2TU;INTERVAL=2")]
    [InlineData("FREQ=MONTHLY;BYMONTHDAY=4,15,31")]
    [InlineData("FREQ=MONTHLY;UNTIL=20270320T000000Z")]
    [InlineData("FREQ=MONTHLY;BYDAY=TH")]
    public void CompiledRule_ExpandsLikeIcalNet_InAWindowAYearAfterTheStart(string rule)
    {
        var text = Feed($"BEGIN:VEVENT\r\nUID:r@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Brussels:20260108T093000\r\n"
            + $"DURATION:PT1H30M\r\nRRULE:{rule}\r\nEXDATE;TZID=Europe/Brussels:20270304T093000,20270305T093000\r\nEND:VEVENT");
        var window = new Interval(Samples.At("2027-02-20T00:00:00"), Samples.At("2027-04-15T00:00:00"));

        var compiled = IcsBusyCalendar.Parse(text, SlotSearch.Brussels);
        Assert.Equal(1, compiled.Shape.Compiled);

        var expected = Calendar.Load(text)!.Events.Single()
            .GetOccurrences(new Ical.Net.DataTypes.CalDateTime(window.Start.Minus(Duration.FromDays(1)).ToDateTimeUtc(), "UTC"), null)
            .Select(o => Instant.FromDateTimeUtc(o.Period.StartTime.AsUtc))
            .TakeWhile(s => s < window.End)
            .Select(s => new Interval(s, s + Duration.FromMinutes(90)))
            .Where(i => i.End > window.Start)
            .ToList();
        Assert.Equal(expected, compiled.BusyIn(window));
    }

    [Fact]
    public void YearlyRule_GoesThroughIcalNet_AndStillHonoursTheWindow()
    {
        var text = Feed("BEGIN:VEVENT\r\nUID:m@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260105T130000Z\r\nDTEND:20260105T140000Z\r\n"
            + "RRULE:FREQ=YEARLY;BYMONTH=3,4;BYDAY=1MO\r\nEND:VEVENT");
        var calendar = IcsBusyCalendar.Parse(text, SlotSearch.Brussels);
        var busy = calendar.BusyIn(new Interval(Samples.Utc("2027-03-01T00:00:00Z"), Samples.Utc("2027-04-30T00:00:00Z")));

        Assert.Equal((0, 1, 0), calendar.Shape);
        Assert.Equal([Samples.Utc("2027-03-01T13:00:00Z"), Samples.Utc("2027-04-05T13:00:00Z")], busy.Select(b => b.Start));
    }

    [Fact]
    public void AllDayEvent_ForeignZone_FreeBusy_AndTransparentOrCancelledEvents_AreReadAsTheyMean()
    {
        var text = Feed(
            "BEGIN:VEVENT\r\nUID:a@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20270310\r\nDTEND;VALUE=DATE:20270312\r\nEND:VEVENT",
            "BEGIN:VEVENT\r\nUID:b@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=America/New_York:20270315T090000\r\nDTEND;TZID=America/New_York:20270315T100000\r\nEND:VEVENT",
            "BEGIN:VEVENT\r\nUID:c@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270316T090000Z\r\nDTEND:20270316T100000Z\r\nTRANSP:TRANSPARENT\r\nEND:VEVENT",
            "BEGIN:VEVENT\r\nUID:d@x\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20270317T090000Z\r\nDTEND:20270317T100000Z\r\nSTATUS:CANCELLED\r\nEND:VEVENT",
            "BEGIN:VFREEBUSY\r\nUID:f@x\r\nDTSTAMP:20260101T000000Z\r\nFREEBUSY;FBTYPE=BUSY:20270318T080000Z/20270318T093000Z,20270318T120000Z/PT1H\r\n"
            + "FREEBUSY;FBTYPE=FREE:20270318T140000Z/20270318T150000Z\r\nEND:VFREEBUSY");
        var busy = IcsBusyCalendar.Parse(text, SlotSearch.Brussels)
            .BusyIn(new Interval(Samples.Utc("2027-03-01T00:00:00Z"), Samples.Utc("2027-03-31T00:00:00Z")));

        Assert.Equal(
            [
                new Interval(Samples.At("2027-03-10T00:00:00"), Samples.At("2027-03-12T00:00:00")),
                new Interval(Samples.Utc("2027-03-15T13:00:00Z"), Samples.Utc("2027-03-15T14:00:00Z")), // EDT already (UTC-4)
                new Interval(Samples.Utc("2027-03-18T08:00:00Z"), Samples.Utc("2027-03-18T09:30:00Z")),
                new Interval(Samples.Utc("2027-03-18T12:00:00Z"), Samples.Utc("2027-03-18T13:00:00Z")),
            ],
            busy);
    }

    [Theory]
    [InlineData("")]
    [InlineData("<html>not a calendar</html>")]
    [InlineData("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\n")]
    public void MalformedFeed_IsATypedError(string text)
        => Assert.Throws<CalendarFeedMalformedException>(() => IcsBusyCalendar.Parse(text, SlotSearch.Brussels));
}
