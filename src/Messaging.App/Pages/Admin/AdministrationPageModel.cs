using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Admin;

/// <summary>Pages of administrative changes (the directory, the partners): a role check before anything is sent, input
/// refused as a sentence (<see cref="DirectoryInput.Refused"/>), the server's refusals as sentences, then back to the page.</summary>
public abstract class AdministrationPageModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    /// <summary>The page itself, where every change returns.</summary>
    protected abstract string Path { get; }

    protected Task<IActionResult> SubmitAsync(Func<string, bool> allowed, Func<MessagingClient, Task> change) => ChangeAsync(async () =>
    {
        var client = Device.Client;
        if (!allowed(client.Role))
        {
            return StatusCode(StatusCodes.Status403Forbidden);
        }

        try
        {
            await change(client);
        }
        catch (DirectoryInput.Refused refused)
        {
            TempData["error"] = T[refused.Message];
        }

        return Back();
    }, Back);

    protected RedirectResult Back() => Redirect(Path);
}
