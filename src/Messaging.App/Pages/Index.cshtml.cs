using Messaging.App.Device;
using Messaging.App.Localization;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>The start page sends the browser where the device stands: enrolment, unlock, or the conversations.</summary>
[WithoutDevice]
public sealed class IndexModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public IActionResult OnGet() => Redirect(Device.State switch
    {
        DeviceState.NotEnrolled => "/enrol",
        DeviceState.Unlocked => "/conversations",
        _ => "/unlock",
    });
}
