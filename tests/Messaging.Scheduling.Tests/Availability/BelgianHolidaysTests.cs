using Messaging.Scheduling.Availability;
using NodaTime;

namespace Messaging.Scheduling.Tests.Availability;

public class BelgianHolidaysTests
{
    [Theory]
    [InlineData(2019, 4, 21)]
    [InlineData(2024, 3, 31)]
    [InlineData(2025, 4, 20)]
    [InlineData(2026, 4, 5)]
    [InlineData(2027, 3, 28)]
    [InlineData(2038, 4, 25)]
    public void EasterSunday_MatchesThePublishedDates(int year, int month, int day)
        => Assert.Equal(new LocalDate(year, month, day), BelgianHolidays.EasterSunday(year));

    [Fact]
    public void For2027_TheFrenchCommunity_HasTheTenNationalHolidaysAnd27September()
    {
        var dates = BelgianHolidays.For(2027, Community.French).Select(h => h.Date).ToList();
        Assert.Equal(
            [new(2027, 1, 1), new(2027, 3, 29), new(2027, 5, 1), new(2027, 5, 6), new(2027, 5, 17), new(2027, 7, 21),
                new(2027, 8, 15), new(2027, 9, 27), new(2027, 11, 1), new(2027, 11, 11), new(2027, 12, 25)],
            dates);
    }

    [Theory]
    [InlineData(Community.French, 9, 27)]
    [InlineData(Community.Flemish, 7, 11)]
    [InlineData(Community.German, 11, 15)]
    public void EachCommunity_ClosesOnItsOwnDayOnly(Community community, int month, int day)
    {
        var date = new LocalDate(2026, month, day);
        Assert.True(BelgianHolidays.IsHoliday(date, community));
        Assert.All(Enum.GetValues<Community>().Where(c => c != community), other => Assert.False(BelgianHolidays.IsHoliday(date, other)));
    }
}
