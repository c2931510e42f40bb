using Messaging.App.Device;
using Messaging.App.Localization;

namespace Messaging.App.Pages;

/// <summary>What an unexpected failure shows: nothing of the exception (it could carry content).</summary>
[WithoutDevice]
public sealed class ErrorModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public void OnGet()
    {
    }
}
