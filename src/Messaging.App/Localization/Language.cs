namespace Messaging.App.Localization;

/// <summary>The app's languages: French (Belgium) by default, Dutch (Belgium), English. Chosen in the app and kept in a
/// cookie, never in a URL.</summary>
public static class Language
{
    public const string French = "fr-BE";
    public const string Dutch = "nl-BE";
    public const string English = "en";
    public const string CookieName = "messaging-lang";

    public static IReadOnlyList<string> All { get; } = [French, Dutch, English];

    public static string Of(HttpRequest request)
        => request.Cookies.TryGetValue(CookieName, out var chosen) && All.Contains(chosen, StringComparer.Ordinal) ? chosen! : French;

    public static void Choose(HttpResponse response, string language)
        => response.Cookies.Append(CookieName, All.Contains(language, StringComparer.Ordinal) ? language : French, new CookieOptions
        {
            HttpOnly = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            IsEssential = true,
            MaxAge = TimeSpan.FromDays(365),
        });
}
