using Messaging.App.Device;
using Messaging.App.Localization;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>The lock button: the device stays open (messages keep arriving), the browser must give the passphrase again.</summary>
public sealed class LockModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public IActionResult OnPost()
    {
        Device.Lock();
        return Redirect("/unlock");
    }
}
