using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Messaging.App.Localization;
using Messaging.Client;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Microsoft.AspNetCore.Http;

namespace Messaging.App.Tests;

/// <summary>The app speaks French, Dutch and English throughout, shows Brussels time in each language's words, and turns
/// every server error code into a sentence.</summary>
public sealed partial class TextsTests
{
    public static TheoryData<string> Languages => [.. Language.All];

    [Fact]
    public void EveryKeyThePagesUse_HasASentenceInEachLanguage()
    {
        var source = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(ThisFile())!, "..", "..", "src", "Messaging.App"));
        var keys = Directory.EnumerateFiles(source, "*.cs*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => KeyUse().Matches(File.ReadAllText(f)).Select(m => m.Groups["key"].Value))
            .ToHashSet(StringComparer.Ordinal);
        Assert.True(keys.Count > 100, $"only {keys.Count} keys found under {source}");
        var missing = keys.Where(k => !Texts.Strings.ContainsKey(k)).ToList();
        Assert.True(missing.Count == 0, $"no sentence for: {string.Join(", ", missing)}");
        foreach (var (key, (fr, nl, en)) in Texts.Strings)
        {
            Assert.False(string.IsNullOrWhiteSpace(fr) || string.IsNullOrWhiteSpace(nl) || string.IsNullOrWhiteSpace(en), $"{key} lacks a language");
        }
    }

    [Theory]
    [MemberData(nameof(Languages))]
    public void EveryServerErrorCode_ReadsAsASentence_NeverAsTheCodeOrTheTechnicalMessage(string language)
    {
        var texts = TextsIn(language);
        var codes = typeof(ErrorCodes).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!).ToList();
        Assert.NotEmpty(codes);
        foreach (var code in codes)
        {
            var sentence = texts.Error(ServerRefusedException.FromCode(code, "technical detail"));
            Assert.False(string.IsNullOrWhiteSpace(sentence));
            Assert.DoesNotContain(code, sentence, StringComparison.Ordinal);
            Assert.DoesNotContain("technical detail", sentence, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void ARefusalWithItsOwnSentence_IsShownInTheChosenLanguage()
    {
        var refusal = ServerRefusedException.FromCode(ErrorCodes.ConsentRevoked, "consent revoked");
        Assert.Equal("Ce consentement a été révoqué.", TextsIn(Language.French).Error(refusal));
        Assert.Equal("Deze toestemming werd ingetrokken.", TextsIn(Language.Dutch).Error(refusal));
        Assert.Equal("This consent was revoked.", TextsIn(Language.English).Error(refusal));
    }

    [Fact]
    public void TimesAreShownInBrussels_WithSummerAndWinterTime_InEachLanguagesWords()
    {
        var winter = new DateTimeOffset(2026, 1, 1, 13, 5, 0, TimeSpan.Zero);
        var summer = new DateTimeOffset(2026, 7, 14, 22, 30, 0, TimeSpan.Zero);
        Assert.Equal("1er janvier 2026 à 14:05", BrusselsTime.DateTime(winter, Language.French));
        Assert.Equal("1 januari 2026 om 14:05", BrusselsTime.DateTime(winter, Language.Dutch));
        Assert.Equal("1 January 2026, 14:05", BrusselsTime.DateTime(winter, Language.English));
        // 22:30 UTC in July is past midnight in Brussels (UTC+2): the next day.
        Assert.Equal("15 juillet 2026 à 00:30", BrusselsTime.DateTime(summer, Language.French));
        Assert.Equal("15 juli 2026 om 00:30", BrusselsTime.DateTime(summer, Language.Dutch));
    }

    [Fact]
    public void EveryReferralStatusAndClosedValue_HasItsWords()
    {
        var texts = TextsIn(Language.Dutch);
        foreach (var status in Enum.GetValues<ReferralStatus>())
        {
            Assert.DoesNotContain("status.", texts.Status(status), StringComparison.Ordinal);
        }

        foreach (var reason in Enum.GetValues<ReferralDeclineReason>())
        {
            Assert.DoesNotContain("decline.", texts.Closed(reason), StringComparison.Ordinal);
        }

        foreach (var reason in Enum.GetValues<Client.Cases.ReasonCategory>())
        {
            Assert.DoesNotContain("reason.", texts.Closed(reason), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheLanguageComesFromTheCookie_AndAnUnknownOneFallsBackToFrench()
    {
        Assert.Equal(Language.Dutch, TextsIn(Language.Dutch).Language);
        Assert.Equal(Language.French, TextsIn("de-DE").Language);
        Assert.Equal(Language.French, new Texts(new HttpContextAccessor { HttpContext = new DefaultHttpContext() }).Language);
    }

    private static Texts TextsIn(string language)
    {
        var context = new DefaultHttpContext();
        context.Request.Headers.Cookie = $"{Language.CookieName}={language}";
        return new Texts(new HttpContextAccessor { HttpContext = context });
    }

    private static string ThisFile([CallerFilePath] string path = "") => path;

    [GeneratedRegex("(?:T\\[|T\\.Format\\(|Notify\\(|Refuse\\()\"(?<key>[a-z0-9.:-]+)\"")]
    private static partial Regex KeyUse();
}
