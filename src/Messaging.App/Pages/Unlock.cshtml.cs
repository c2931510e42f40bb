using Messaging.App.Device;
using Messaging.App.Localization;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

[WithoutDevice]
public sealed class UnlockModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
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
        return Redirect("/conversations");
    }, () => Redirect("/unlock"));
}
