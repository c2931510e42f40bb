using System.Globalization;
using Messaging.App.Localization;
using Messaging.App.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>The organiser's side of an interview that the CLI had and the app lacked: absences and the secret calendar
/// feed in the availability form (the feed never shown back, removable), the reason when nothing fits, the candidate
/// slots as a week grid in Brussels time, and the person's own invitation made on this device as downloads.</summary>
[Collection(BrowserCollection.Name)]
public sealed class InterviewPlanningTests(BrowserWorld world)
{
    [Fact]
    public async Task TheAvailabilityTakesAbsencesAndASecretFeed_NothingFitsSaysWhy_AndThePersonsInvitationIsMadeOnTheDevice()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (aline, bruno, _, _, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.ProposeTripartite, followUpOngoing: true);
        // Aline works one hour on Saturdays only: a two-hour interview never fits her.
        await aline.Interviews.SetAvailabilityAsync([new WorkingPeriodEntry(DayOfWeek.Saturday, new TimeOnly(9, 0), new TimeOnly(10, 0))], []);

        await using var organiser = await AppWorker.OpenAsync(world, "Bruno", bruno);
        var page = organiser.Page;
        await page.GetByRole(AriaRole.Link, new() { Name = "Entretiens" }).ClickAsync();

        // An absence (whole days in Brussels) and a feed whose address carries a secret.
        var secret = $"jeton-{marker}";
        var away = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime).AddDays(30);
        await page.GetByLabel("Nouvelle absence : premier jour").FillAsync(away.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await page.GetByLabel("Dernier jour (inclus)").FillAsync(away.AddDays(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        await page.GetByLabel("Adresse du flux (https)").FillAsync($"https://agenda.example.invalid/{secret}/basic.ics");
        await page.Locator("#save-availability").ClickAsync();
        await Expect(page.Locator("#notice")).ToContainTextAsync("Disponibilités enregistrées");
        await Expect(page.Locator("#feed-state")).ToHaveTextAsync("Un calendrier externe est relié : ses occupations sont évitées.");
        var absence = page.Locator("#absences .absence");
        await Expect(absence).ToHaveTextAsync($"absent·e du {BrusselsTime.Date(NodaTime.LocalDate.FromDateOnly(away), Language.French)} à 00:00 au "
            + $"{BrusselsTime.Date(NodaTime.LocalDate.FromDateOnly(away.AddDays(2)), Language.French)} à 00:00");
        await Expect(page.Locator("#feed-url")).ToHaveValueAsync("");
        Assert.DoesNotContain(secret, await page.ContentAsync(), StringComparison.Ordinal);
        await organiser.ScanAsync("availability with an absence and a feed");
        await organiser.ScreenshotAsync("interview-availability");

        // Saving without typing the feed again would drop it silently: refused, nothing changed.
        await page.Locator("#save-availability").ClickAsync();
        await Expect(page.Locator("#error")).ToContainTextAsync("saisissez-la à nouveau pour le garder");
        await Expect(page.Locator("#feed-state")).ToContainTextAsync("Un calendrier externe est relié");
        // A feed that is not https is refused here, as the server would.
        await page.GetByLabel("Adresse du flux (https)", new() { Exact = false }).FillAsync("http://agenda.example.invalid/clair.ics");
        await page.Locator("#save-availability").ClickAsync();
        await Expect(page.Locator("#error")).ToContainTextAsync("doit commencer par https://");

        await page.GetByLabel("Retirer le calendrier externe").CheckAsync();
        await page.Locator("#save-availability").ClickAsync();
        await Expect(page.Locator("#notice")).ToContainTextAsync("Disponibilités enregistrées");
        await Expect(page.Locator("#feed-state")).ToHaveTextAsync("Aucun calendrier externe n'est relié.");
        await Expect(absence).ToHaveCountAsync(1);

        // Nothing fits: the page says who is never free, and why.
        await page.GetByLabel("Dossier").SelectOptionAsync(record.CaseReference);
        await page.Locator("#find-slots").ClickAsync();
        await page.GetByLabel($"Aline {marker}").CheckAsync();
        await page.GetByLabel("Durée (minutes)").FillAsync("120");
        await page.Locator("#find-slots").ClickAsync();
        await Expect(page.Locator("#why-nothing-fits")).ToContainTextAsync(
            $"Aline {marker} n'est jamais libre : les heures de travail ne laissent aucune plage assez longue.");
        await organiser.ScanAsync("nothing fits");
        await organiser.ScreenshotAsync("interview-nothing-fits");

        // Once Aline works weekdays, the slots show as weeks of days, Monday first, each time in Brussels.
        var weekdays = new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday };
        await aline.Interviews.SetAvailabilityAsync([.. weekdays.Select(d => new WorkingPeriodEntry(d, new TimeOnly(9, 0), new TimeOnly(17, 0)))], []);
        await page.ReloadAsync();
        var first = page.Locator("#slots .slot input").First;
        await Expect(first).ToBeVisibleAsync();
        var start = DateTimeOffset.Parse((await first.GetAttributeAsync("value"))!, CultureInfo.InvariantCulture);
        var local = BrusselsTime.Local(start);
        var day = page.Locator("#slots .day", new() { Has = page.Locator($"[id='slot-{start.ToUnixTimeSeconds()}']") });
        await Expect(day.Locator(".day-name")).ToHaveTextAsync(
            $"{WeekdayInFrench(local.DayOfWeek)} {BrusselsTime.Date(local.Date, Language.French)}");
        await Expect(page.Locator("#slots label", new() { HasText = $"{local.Hour:00}:{local.Minute:00}–" }).First).ToBeVisibleAsync();
        var week = page.Locator("#slots .week").First;
        await Expect(week.Locator(".day-name").Nth(1)).ToContainTextAsync("lundi");
        await organiser.ScanAsync("slots as a week grid");

        await first.CheckAsync();
        await page.GetByLabel("Lieu").FillAsync("Rue de la Loi 16, 1000 Bruxelles");
        await page.Locator("#invite").ClickAsync();
        await Expect(page.Locator("#notice")).ToContainTextAsync("Invitation envoyée");
        var card = page.Locator(".interview", new() { HasText = record.CaseReference });
        await Expect(card.Locator(".participant", new() { HasText = "la personne" })).ToBeVisibleAsync();
        await organiser.ScanAsync("organiser's interview with the reschedule form and the person's invitation");
        await organiser.ScreenshotAsync("interview-reschedule");

        // The person's invitation: the name typed in a form, the files made here, handed over as downloads.
        var name = $"Dupont-{marker}";
        await card.Locator(".person-name").FillAsync(name);
        var ics = await card.Page.RunAndWaitForDownloadAsync(() => card.Locator(".download-ics").ClickAsync());
        Assert.Equal("entretien.ics", ics.SuggestedFilename);
        var icsText = await File.ReadAllTextAsync(await ics.PathAsync());
        Assert.DoesNotContain(name, icsText, StringComparison.Ordinal);
        var calendar = Ical.Net.Calendar.Load(icsText)!;
        var evt = Assert.Single(calendar.Events);
        Assert.Equal(start.UtcDateTime, evt.DtStart!.AsUtc);
        Assert.Equal("Europe/Brussels", evt.DtStart.TzId);
        Assert.Equal((local.Hour, local.Minute), (evt.DtStart.Value.Hour, evt.DtStart.Value.Minute));
        var text = await page.RunAndWaitForDownloadAsync(() => card.Locator(".download-text").ClickAsync());
        Assert.Equal("invitation.txt", text.SuggestedFilename);
        Assert.StartsWith($"Bonjour {name},", await File.ReadAllTextAsync(await text.PathAsync()), StringComparison.Ordinal);
        var mailto = await page.RunAndWaitForDownloadAsync(() => card.Locator(".download-mailto").ClickAsync());
        Assert.StartsWith("mailto:?subject=", await File.ReadAllTextAsync(await mailto.PathAsync()), StringComparison.Ordinal);

        // Nothing naming the person left the device or reached a URL, a title or a log; the feed's secret neither.
        foreach (var planted in new[] { name, secret })
        {
            Assert.DoesNotContain(planted, string.Join("\n", organiser.Urls), StringComparison.Ordinal);
            Assert.DoesNotContain(planted, string.Join("\n", await organiser.TitlesAsync()), StringComparison.Ordinal);
            Assert.DoesNotContain(planted, organiser.App.Logs, StringComparison.Ordinal);
            Assert.DoesNotContain(planted, platform.Server.Logs, StringComparison.Ordinal);
        }
        Assert.NotEmpty(platform.Server.Logs);
    }

    private static string WeekdayInFrench(NodaTime.IsoDayOfWeek day) => day switch
    {
        NodaTime.IsoDayOfWeek.Monday => "lundi",
        NodaTime.IsoDayOfWeek.Tuesday => "mardi",
        NodaTime.IsoDayOfWeek.Wednesday => "mercredi",
        NodaTime.IsoDayOfWeek.Thursday => "jeudi",
        NodaTime.IsoDayOfWeek.Friday => "vendredi",
        NodaTime.IsoDayOfWeek.Saturday => "samedi",
        _ => "dimanche",
    };
}
