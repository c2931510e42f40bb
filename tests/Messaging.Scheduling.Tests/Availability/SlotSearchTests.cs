using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Tests.Infrastructure;
using NodaTime;

namespace Messaging.Scheduling.Tests.Availability;

public class SlotSearchTests
{
    private static readonly WorkingHours TenToEleven = WorkingHours.Weekdays(new WorkingPeriod(new LocalTime(10, 0), new LocalTime(11, 0)));

    [Fact]
    public void TenOClockSlot_StaysTenLocal_AcrossTheLastSundayOfMarch_AndEasterMondayIsClosed()
    {
        var request = new SlotSearchRequest([Samples.Person("a", TenToEleven), Samples.Person("b", TenToEleven), Samples.Person("c", TenToEleven)],
            Duration.FromHours(1), Samples.At("2027-03-24T12:00:00"), Count: 3) { MinimumNotice = Duration.Zero };

        var result = SlotSearch.Find(request);

        Assert.Equal(
            [Samples.Utc("2027-03-25T09:00:00Z"), Samples.Utc("2027-03-26T09:00:00Z"), Samples.Utc("2027-03-30T08:00:00Z")],
            result.Slots.Select(s => s.Start));
        Assert.True(result.IsComplete);
    }

    [Fact]
    public void TenOClockSlot_StaysTenLocal_AcrossTheLastSundayOfOctober_AndAllSaintsIsClosed()
    {
        var request = new SlotSearchRequest([Samples.Person("a", TenToEleven), Samples.Person("b", TenToEleven)],
            Duration.FromHours(1), Samples.At("2027-10-27T12:00:00"), Count: 3);

        var result = SlotSearch.Find(request);

        Assert.Equal(
            [Samples.Utc("2027-10-29T08:00:00Z"), Samples.Utc("2027-11-02T09:00:00Z"), Samples.Utc("2027-11-03T09:00:00Z")],
            result.Slots.Select(s => s.Start));
    }

    [Fact]
    public void BusyPeriodsAndBuffers_PushTheSlotToTheFirstGapThatHoldsBoth()
    {
        // a is busy 09:00–10:00, b 11:30–12:00 (local); 45 min with 15 min before and after fits only at 10:15? No: it must end
        // by 11:15 (11:30 − 15 min) and start from 10:15 (10:00 + 15 min): 10:15–11:00.
        var a = Samples.Person("a", busy: [new FixedBusy([new Interval(Samples.At("2027-06-08T09:00:00"), Samples.At("2027-06-08T10:00:00"))])]);
        var b = Samples.Person("b", busy: [new FixedBusy([new Interval(Samples.At("2027-06-08T11:30:00"), Samples.At("2027-06-08T12:00:00"))])]);
        var request = new SlotSearchRequest([a, b], Duration.FromMinutes(45), Samples.At("2027-06-07T08:00:00"), Count: 2)
        {
            BufferBefore = Duration.FromMinutes(15),
            BufferAfter = Duration.FromMinutes(15),
        };

        var result = SlotSearch.Find(request);

        Assert.Equal([Samples.At("2027-06-08T10:15:00"), Samples.At("2027-06-08T10:30:00")], result.Slots.Select(s => s.Start));
    }

    [Fact]
    public void MinimumNotice_SkipsTheSlotsTooSoon()
    {
        var request = new SlotSearchRequest([Samples.Person("a", TenToEleven), Samples.Person("b", TenToEleven)],
            Duration.FromHours(1), Samples.At("2027-06-07T10:30:00"), Count: 1) { MinimumNotice = Duration.FromHours(48) };

        Assert.Equal(Samples.At("2027-06-10T10:00:00"), SlotSearch.Find(request).Slots.Single().Start);
    }

    [Fact]
    public void ParticipantAbsentForTheWholeHorizon_IsNamedAsNeverFree_BecauseOfAbsences()
    {
        var now = Samples.At("2027-06-07T09:00:00");
        var away = Samples.Person("member-b", absences: [new Interval(now, now + Duration.FromDays(40))]);
        var request = new SlotSearchRequest([Samples.Person("member-a"), away], Duration.FromHours(1), now) { Horizon = Duration.FromDays(30) };

        var result = SlotSearch.Find(request);

        Assert.Empty(result.Slots);
        Assert.Equal(EmptyingConstraint.Absences, result.Explanation!.CommonConstraint);
        Assert.Equal(EmptyingConstraint.Absences, Assert.Single(result.Explanation.NeverFree, p => p.Key == "member-b").Value);
        Assert.DoesNotContain("member-a", result.Explanation.NeverFree.Keys);
    }

    [Fact]
    public void WorkingHoursThatNeverOverlap_AreTheConstraintThatEmptiesTheWindow_WithNobodyNeverFreeAlone()
    {
        var mornings = WorkingHours.Weekdays(new WorkingPeriod(new LocalTime(8, 0), new LocalTime(12, 0)));
        var afternoons = WorkingHours.Weekdays(new WorkingPeriod(new LocalTime(13, 0), new LocalTime(17, 0)));
        var request = new SlotSearchRequest([Samples.Person("a", mornings), Samples.Person("b", afternoons)], Duration.FromHours(1),
            Samples.At("2027-06-07T09:00:00"));

        var result = SlotSearch.Find(request);

        Assert.Empty(result.Slots);
        Assert.Equal(EmptyingConstraint.WorkingHours, result.Explanation!.CommonConstraint);
        Assert.Empty(result.Explanation.NeverFree);
    }

    [Fact]
    public void BuffersAlone_CanEmptyTheWindow_AndAreNamed()
    {
        // Free only 10:00–11:00 between two busy hours: a 1 h interview fits, not with a 10 min buffer.
        var now = Samples.At("2027-06-07T09:00:00");
        var hours = WorkingHours.Weekdays(new WorkingPeriod(new LocalTime(9, 0), new LocalTime(12, 0)));
        var busy = new List<Interval>();
        for (var d = 0; d < 10; d++)
        {
            var day = now + Duration.FromDays(d);
            busy.Add(new Interval(day, day + Duration.FromHours(1)));
            busy.Add(new Interval(day + Duration.FromHours(2), day + Duration.FromHours(3)));
        }

        var request = new SlotSearchRequest([Samples.Person("a", hours, [new FixedBusy(busy)]), Samples.Person("b", hours)], Duration.FromHours(1), now)
        {
            MinimumNotice = Duration.Zero,
            Horizon = Duration.FromDays(9),
            BufferAfter = Duration.FromMinutes(10),
        };

        var result = SlotSearch.Find(request);

        Assert.Empty(result.Slots);
        Assert.Equal(EmptyingConstraint.Buffers, result.Explanation!.CommonConstraint);
        Assert.Equal(EmptyingConstraint.Buffers, result.Explanation.NeverFree["a"]);
    }

    [Fact]
    public void NoticeBeyondTheHorizon_IsExplained()
    {
        var request = new SlotSearchRequest([Samples.Person("a"), Samples.Person("b")], Duration.FromHours(1), Samples.At("2027-06-07T09:00:00"))
        {
            MinimumNotice = Duration.FromDays(10),
            Horizon = Duration.FromDays(5),
        };

        Assert.Equal(EmptyingConstraint.NoticeAndHorizon, SlotSearch.Find(request).Explanation!.CommonConstraint);
    }

    [Fact]
    public void RecurringBusyEventsWithExceptions_AndHolidays_LeaveTheRightSlots()
    {
        // Both work 10–11; "a" has a weekly TU/TH 10:00 meeting (Thu 25 March excepted, Tue 30 moved away).
        var feed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:m@x\r\nDTSTAMP:20260101T000000Z\r\n"
            + "DTSTART;TZID=Europe/Brussels:20260106T100000\r\nDTEND;TZID=Europe/Brussels:20260106T110000\r\nRRULE:FREQ=WEEKLY;BYDAY=TU,TH\r\n"
            + "EXDATE;TZID=Europe/Brussels:20270325T100000\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:m@x\r\nDTSTAMP:20260101T000000Z\r\n"
            + "RECURRENCE-ID;TZID=Europe/Brussels:20270330T100000\r\nDTSTART;TZID=Europe/Brussels:20270331T140000\r\n"
            + "DTEND;TZID=Europe/Brussels:20270331T150000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        var a = Samples.Person("a", TenToEleven, [IcsBusyCalendar.Parse(feed, SlotSearch.Brussels)]);
        var request = new SlotSearchRequest([a, Samples.Person("b", TenToEleven)], Duration.FromHours(1), Samples.At("2027-03-22T08:00:00"), Count: 5)
        {
            MinimumNotice = Duration.Zero,
        };

        var starts = SlotSearch.Find(request).Slots.Select(s => s.Start.InZone(SlotSearch.Brussels).Date.ToString("ddd dd", null)).ToList();

        // Mon 22, Wed 24, Thu 25 (excepted), Fri 26, [Mon 29 Easter Monday], Tue 30 (moved away).
        Assert.Equal(["Mon 22", "Wed 24", "Thu 25", "Fri 26", "Tue 30"], starts);
    }
}
