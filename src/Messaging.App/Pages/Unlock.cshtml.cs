using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.App.Security;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>The passphrase, on the first opening and after every lock. A successful unlock starts a new browser session
/// (<see cref="LocalAccess.StartNewSession"/>): a session cookie from before it opens nothing.</summary>
[WithoutDevice]
public sealed class UnlockModel(DeviceSession device, Texts texts, LocalAccess access) : AppPageModel(device, texts)
{
    public IActionResult OnGet() => Device.State switch
    {
        DeviceState.NotEnrolled => Redirect("/enrol"),
        DeviceState.Unlocked => Redirect("/conversations"),
        _ => Page(),
    };

    public Task<IActionResult> OnPostAsync(string? passphrase) => ChangeAsync(async () =>
    {
        await Device.UnlockAsync(passphrase ?? "", HttpContext.RequestAborted);
        access.StartNewSession(Response);
        return Redirect("/conversations");
    }, () => Redirect("/unlock"));
}
