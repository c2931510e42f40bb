using Messaging.App.Device;
using Messaging.App.Localization;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>Chooses the language (a cookie), then returns to the page it was chosen on.</summary>
[WithoutDevice]
public sealed class LanguageModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public IActionResult OnPost(string? language, string? @return)
    {
        Language.Choose(Response, language ?? Localization.Language.French);
        return LocalRedirect(@return is { Length: > 0 } path && Url.IsLocalUrl(path) ? path : "/");
    }
}
