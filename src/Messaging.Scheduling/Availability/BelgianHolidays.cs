using NodaTime;

namespace Messaging.Scheduling.Availability;

/// <summary>The Belgian community a service belongs to: it adds its own public holiday to the national ones.</summary>
public enum Community
{
    /// <summary>Fédération Wallonie-Bruxelles: 27 September.</summary>
    French,

    /// <summary>Vlaamse Gemeenschap: 11 July.</summary>
    Flemish,

    /// <summary>Deutschsprachige Gemeinschaft: 15 November.</summary>
    German,
}

/// <summary>A closed day.</summary>
public sealed record PublicHoliday(LocalDate Date, string Name);

/// <summary>
/// Belgian public holidays, computed: the ten national ones (three of them from Easter: Easter Monday, Ascension, Whit
/// Monday) and the community's holiday. The service is closed all day, local time.
/// </summary>
public static class BelgianHolidays
{
    /// <summary>Easter Sunday in the Gregorian calendar (the anonymous Gregorian algorithm, valid for every year).</summary>
    public static LocalDate EasterSunday(int year)
    {
        var a = year % 19;
        var b = year / 100;
        var c = year % 100;
        var d = b / 4;
        var e = b % 4;
        var f = (b + 8) / 25;
        var g = (b - f + 1) / 3;
        var h = ((19 * a) + b - d - g + 15) % 30;
        var i = c / 4;
        var k = c % 4;
        var l = (32 + (2 * e) + (2 * i) - h - k) % 7;
        var m = (a + (11 * h) + (22 * l)) / 451;
        var month = (h + l - (7 * m) + 114) / 31;
        var day = ((h + l - (7 * m) + 114) % 31) + 1;
        return new LocalDate(year, month, day);
    }

    /// <summary>The holidays of <paramref name="year"/> for a service of <paramref name="community"/>, in date order.</summary>
    public static IReadOnlyList<PublicHoliday> For(int year, Community community)
    {
        var easter = EasterSunday(year);
        var list = new List<PublicHoliday>
        {
            new(new LocalDate(year, 1, 1), "New Year's Day"),
            new(easter.PlusDays(1), "Easter Monday"),
            new(new LocalDate(year, 5, 1), "Labour Day"),
            new(easter.PlusDays(39), "Ascension Day"),
            new(easter.PlusDays(50), "Whit Monday"),
            new(new LocalDate(year, 7, 21), "National Day"),
            new(new LocalDate(year, 8, 15), "Assumption"),
            new(new LocalDate(year, 11, 1), "All Saints' Day"),
            new(new LocalDate(year, 11, 11), "Armistice Day"),
            new(new LocalDate(year, 12, 25), "Christmas Day"),
            community switch
            {
                Community.French => new(new LocalDate(year, 9, 27), "French Community Day"),
                Community.Flemish => new(new LocalDate(year, 7, 11), "Flemish Community Day"),
                Community.German => new(new LocalDate(year, 11, 15), "German-speaking Community Day"),
                _ => throw new ArgumentOutOfRangeException(nameof(community), community, "Unknown community."),
            },
        };
        list.Sort(static (x, y) => x.Date.CompareTo(y.Date));
        return list;
    }

    /// <summary>True when <paramref name="date"/> is a holiday for <paramref name="community"/>.</summary>
    public static bool IsHoliday(LocalDate date, Community community) => For(date.Year, community).Any(h => h.Date == date);
}
