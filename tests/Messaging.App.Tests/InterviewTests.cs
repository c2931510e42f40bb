using Messaging.App.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>The receiving worker, in the app, sets their hours, finds the common slots with the referring worker (shown
/// by day), invites; the referring worker answers in their app. The organiser then moves the interview to another day and
/// calls it off; the invited worker's app shows each change.</summary>
[Collection(BrowserCollection.Name)]
public sealed class InterviewTests(BrowserWorld world)
{
    [Fact]
    public async Task AWorker_FindsCommonSlots_AndInvites_TheOtherAnswersInTheirApp_ThenTheOrganiserReschedulesAndCancels()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (aline, bruno, _, _, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.ProposeTripartite, followUpOngoing: true);
        var weekdays = new[] { DayOfWeek.Monday, DayOfWeek.Tuesday, DayOfWeek.Wednesday, DayOfWeek.Thursday, DayOfWeek.Friday };
        await aline.Interviews.SetAvailabilityAsync([.. weekdays.Select(d => new WorkingPeriodEntry(d, new TimeOnly(9, 0), new TimeOnly(17, 0)))], []);

        await using var organiser = await AppWorker.OpenAsync(world, "Bruno", bruno);
        await using var guest = await AppWorker.OpenAsync(world, "Aline", aline);

        await organiser.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Entretiens" }).ClickAsync();
        await organiser.Page.Locator("#save-availability").ClickAsync();
        await Expect(organiser.Page.Locator("#notice")).ToContainTextAsync("Disponibilités enregistrées");
        await organiser.Page.GetByLabel("Dossier").SelectOptionAsync(record.CaseReference);
        await organiser.Page.Locator("#find-slots").ClickAsync();
        await organiser.Page.GetByLabel($"Aline {marker}").CheckAsync();
        await organiser.Page.Locator("#find-slots").ClickAsync();
        await Expect(organiser.Page.Locator("#slots .slot").First).ToBeVisibleAsync();
        await organiser.ScanAsync("interview slots");
        await organiser.ScreenshotAsync("interview-slots");
        Assert.DoesNotContain(marker, organiser.Page.Url, StringComparison.Ordinal);
        await organiser.Page.Locator("#slots .slot input").First.CheckAsync();
        await organiser.Page.GetByLabel("Lieu").FillAsync("Rue de la Loi 16, 1000 Bruxelles");
        await organiser.Page.Locator("#invite").ClickAsync();
        await Expect(organiser.Page.Locator("#notice")).ToContainTextAsync("Invitation envoyée");
        await Expect(organiser.Page.Locator(".interview .interview-state")).ToHaveTextAsync("proposé");

        await guest.Page.GetByRole(Microsoft.Playwright.AriaRole.Link, new() { Name = "Entretiens" }).ClickAsync();
        await Expect(guest.Page.Locator(".interview")).ToContainTextAsync(record.CaseReference);
        await guest.ScanAsync("interviews, invited side");
        await guest.Page.Locator(".send-answer").ClickAsync();
        await Expect(guest.Page.Locator("#notice")).ToContainTextAsync("Réponse envoyée");
        await Expect(guest.Page.Locator(".interview .participant", new() { HasText = $"Aline {marker}" })).ToContainTextAsync("accepté");
        await organiser.Page.ReloadAsync();
        await Expect(organiser.Page.Locator(".interview .participant", new() { HasText = $"Aline {marker}" })).ToContainTextAsync("accepté");

        // Rescheduled to 10:00 (Brussels) on a weekday two weeks on: both apps show the new time, the state "déplacé".
        var day = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime).AddDays(14);
        while (day.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
        {
            day = day.AddDays(1);
        }

        var card = organiser.Page.Locator(".interview", new() { HasText = record.CaseReference });
        await card.Locator(".new-start").FillAsync($"{day:yyyy-MM-dd}T10:00");
        await organiser.ScanAsync("interviews, organiser side");
        await card.Locator(".reschedule").ClickAsync();
        await Expect(organiser.Page.Locator("#notice")).ToContainTextAsync("Entretien déplacé");
        var shown = $"{Localization.BrusselsTime.Date(NodaTime.LocalDate.FromDateOnly(day), Localization.Language.French)} à 10:00";
        await Expect(card.Locator(".interview-state")).ToHaveTextAsync("déplacé");
        await Expect(card).ToContainTextAsync(shown);
        await guest.Page.ReloadAsync();
        var invited = guest.Page.Locator(".interview", new() { HasText = record.CaseReference });
        await Expect(invited).ToContainTextAsync(shown);
        await Expect(invited.Locator(".interview-state")).ToHaveTextAsync("déplacé");

        // Called off: cancelled on both sides, with nothing left to answer or record.
        await card.Locator(".cancel-interview").ClickAsync();
        await Expect(organiser.Page.Locator("#notice")).ToContainTextAsync("Entretien annulé");
        await Expect(card.Locator(".interview-state")).ToHaveTextAsync("annulé");
        await Expect(card.Locator(".record-outcome")).ToHaveCountAsync(0);
        await guest.Page.ReloadAsync();
        await Expect(invited.Locator(".interview-state")).ToHaveTextAsync("annulé");
        await Expect(invited.Locator(".send-answer")).ToHaveCountAsync(0);
    }
}
