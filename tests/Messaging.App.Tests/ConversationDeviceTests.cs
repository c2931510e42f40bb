using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Tests.Infrastructure;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>Conversations as the device keeps them: what was read stays read and what was sent stays shown after the app
/// restarts (read marks and own messages are in the device's encrypted local store), and a collective conversation's creator adds and removes members on its page.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ConversationDeviceTests(BrowserWorld world)
{
    [Fact]
    public async Task AConversationReadBeforeTheAppRestarts_ShowsNothingUnreadAfter_AndANewMessageThenCountsOne()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, admin) = await platform.CreateOrganisationAsync($"Service R {marker}");
        var aline = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, $"Aline {marker}"));
        var bruno = await platform.EnrolDeviceAsync(admin, await platform.CreateMemberAsync(admin, $"Bruno {marker}"));
        var conversation = await aline.CreateConversationAsync([bruno.MemberId]);
        await aline.SendTextAsync(conversation.ConversationId, $"premier {marker}");
        await bruno.InboxWhenAsync(i => i.Any(m => m.ConversationId == conversation.ConversationId));
        var store = await platform.ReleaseAsync(bruno);

        var worker = await AppWorker.OpenStoreAsync(world, "Bruno", store);
        try
        {
            var unread = worker.Page.Locator(".card", new() { HasText = $"Aline {marker}" }).Locator(".unread");
            await Expect(unread).ToHaveAttributeAsync("data-unread", "1");
            await worker.Page.Locator(".conversation-link", new() { HasText = $"Aline {marker}" }).ClickAsync();
            await Expect(worker.Page.Locator(".message .text")).ToHaveTextAsync($"premier {marker}");
            // Bruno answers from the app: his message shows as his, with its delivery.
            await worker.Page.Locator("#text").FillAsync($"réponse {marker}");
            await worker.Page.Locator("#send").ClickAsync();
            await Expect(worker.Page.Locator(".message.mine .text")).ToHaveTextAsync($"réponse {marker}");
            await Expect(worker.Page.Locator(".message.mine .delivery")).ToBeVisibleAsync();
            await worker.GoAsync("/conversations");
            await Expect(worker.Page.Locator(".conversation-link", new() { HasText = $"Aline {marker}" })).ToBeVisibleAsync();
            await Expect(unread).ToHaveCountAsync(0);
        }
        finally
        {
            await worker.DisposeAsync();
        }

        // The app process ends and starts again on the same device: the mark was on disk, the message is still read.
        worker = await AppWorker.OpenStoreAsync(world, "Bruno", store);
        try
        {
            var row = worker.Page.Locator(".card", new() { HasText = $"Aline {marker}" });
            await Expect(row.Locator(".conversation-link")).ToBeVisibleAsync();
            await Expect(row.Locator(".unread")).ToHaveCountAsync(0);

            // His own answer is still there after the restart (kept sealed on the device), in order after Aline's message.
            await row.Locator(".conversation-link").ClickAsync();
            await Expect(worker.Page.Locator(".message .text")).ToHaveTextAsync([$"premier {marker}", $"réponse {marker}"]);
            await Expect(worker.Page.Locator(".message.mine .text")).ToHaveTextAsync($"réponse {marker}");
            await worker.GoAsync("/conversations");
            await Expect(row.Locator(".conversation-link")).ToBeVisibleAsync();

            await aline.SendTextAsync(conversation.ConversationId, $"second {marker}");
            await WorkflowTests.ReloadUntilVisibleAsync(worker.Page, row.Locator(".unread"));
            await Expect(row.Locator(".unread")).ToHaveAttributeAsync("data-unread", "1");
            await Expect(row.Locator(".unread")).ToHaveTextAsync("1 non lu(s)");
            await worker.ScanAsync("conversations after a restart");
        }
        finally
        {
            await worker.DisposeAsync();
        }
    }

    [Fact]
    public async Task TheCreatorOfACollectiveConversation_AddsAMemberAndRemovesThem_OnItsPage()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (_, adminX) = await platform.CreateOrganisationAsync($"Service CX {marker}");
        var (_, adminY) = await platform.CreateOrganisationAsync($"Service CY {marker}");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, $"Aline {marker}"));
        var bruno = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, $"Bruno {marker}"));
        var carla = await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, $"Carla {marker}"));

        await using var worker = await AppWorker.OpenAsync(world, "Aline", aline);
        var page = worker.Page;
        await page.GetByRole(AriaRole.Link, new() { Name = "Nouvelle conversation" }).ClickAsync();
        await page.GetByLabel($"Bruno {marker}").CheckAsync();
        await page.GetByLabel("Conversation collective").CheckAsync();
        await worker.ScanAsync("new collective conversation");
        await page.Locator("#create-conversation").ClickAsync();
        await Expect(page.Locator("#add-member")).ToBeVisibleAsync();
        var conversationId = Guid.Parse(new Uri(page.Url).Segments[^1]);
        Assert.True(Assert.Single(await bruno.ListConversationsAsync(), c => c.ConversationId == conversationId).Collective);

        await page.GetByLabel("Ajouter un participant").SelectOptionAsync(new SelectOptionValue { Value = carla.MemberId.ToString() });
        await page.Locator("#add-member-button").ClickAsync();
        await Expect(page.Locator("#notice")).ToContainTextAsync("Participant ajouté");
        var carlaRow = page.Locator(".members .member", new() { HasText = $"Carla {marker}" });
        await Expect(carlaRow).ToBeVisibleAsync();
        Assert.Contains(carla.MemberId, Assert.Single(await carla.ListConversationsAsync(), c => c.ConversationId == conversationId).MemberIds);
        await worker.ScanAsync("collective conversation with its members");
        await worker.ScreenshotAsync("conversation-members");

        await carlaRow.Locator(".remove-member").ClickAsync();
        await Expect(page.Locator("#notice")).ToContainTextAsync("Participant retiré");
        await Expect(carlaRow).ToHaveCountAsync(0);
        await Expect(page.Locator(".members .member", new() { HasText = $"Bruno {marker}" })).ToBeVisibleAsync();
        Assert.DoesNotContain(await carla.ListConversationsAsync(), c => c.ConversationId == conversationId);
        Assert.Equal(new[] { aline.MemberId, bruno.MemberId }.Order(),
            Assert.Single(await bruno.ListConversationsAsync(), c => c.ConversationId == conversationId).MemberIds.Order());
        Assert.DoesNotContain(marker, string.Join("\n", worker.Urls), StringComparison.Ordinal);
    }
}
