using NodaTime;

namespace Messaging.App.Localization;

/// <summary>Instants shown as the date and time in Brussels (summer and winter time), in the chosen language's words.
/// Written out here rather than through the OS's culture data: the app runs with invariant globalization, the same
/// everywhere (see Directory.Build.props), and the three formats are small.</summary>
public static class BrusselsTime
{
    private static readonly DateTimeZone Brussels = DateTimeZoneProviders.Tzdb["Europe/Brussels"];

    private static readonly string[] FrenchMonths = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"];
    private static readonly string[] DutchMonths = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"];
    private static readonly string[] EnglishMonths = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

    public static LocalDateTime Local(DateTimeOffset instant) => Instant.FromDateTimeOffset(instant).InZone(Brussels).LocalDateTime;

    /// <summary>The instant a day begins in Brussels (midnight, or the first moment after it on a changeover).</summary>
    public static DateTimeOffset StartOf(LocalDate date) => date.AtStartOfDayInZone(Brussels).ToDateTimeOffset();

    /// <summary>28 novembre 2026 à 14:05 · 28 november 2026 om 14:05 · 28 November 2026, 14:05.</summary>
    public static string DateTime(DateTimeOffset instant, string language)
    {
        var local = Local(instant);
        var time = $"{local.Hour:00}:{local.Minute:00}";
        return language switch
        {
            Language.Dutch => $"{Date(local.Date, language)} om {time}",
            Language.English => $"{Date(local.Date, language)}, {time}",
            _ => $"{Date(local.Date, language)} à {time}",
        };
    }

    public static string Date(DateTimeOffset instant, string language) => Date(Local(instant).Date, language);

    public static string Date(LocalDate date, string language)
    {
        var months = language switch
        {
            Language.Dutch => DutchMonths,
            Language.English => EnglishMonths,
            _ => FrenchMonths,
        };
        var day = language == Language.French && date.Day == 1 ? "1er" : date.Day.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return $"{day} {months[date.Month - 1]} {date.Year}";
    }

    /// <summary>The instant that ends <paramref name="date"/> in Brussels (23:59:59 local), e.g. a consent's last day.</summary>
    public static DateTimeOffset EndOfDay(LocalDate date)
        => date.At(new LocalTime(23, 59, 59)).InZoneLeniently(Brussels).ToDateTimeOffset();

    /// <summary>A wall-clock time in Brussels (a <c>datetime-local</c> field) as an instant; in the autumn overlap the
    /// earlier, in the spring gap the time just after it.</summary>
    public static DateTimeOffset At(DateTime local) => LocalDateTime.FromDateTime(local).InZoneLeniently(Brussels).ToDateTimeOffset();

    /// <summary>An instant as the value of a <c>datetime-local</c> field, in Brussels.</summary>
    public static string Field(DateTimeOffset instant) => Local(instant).ToString("yyyy-MM-dd'T'HH:mm", System.Globalization.CultureInfo.InvariantCulture);

    public static LocalDate Today(TimeProvider time) => Instant.FromDateTimeOffset(time.GetUtcNow()).InZone(Brussels).Date;
}
