using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.App.Security;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>Enrolment with a one-time code. The server address is checked by the SDK (<c>ServerAddress</c>: https, or
/// plain http to this machine only); a successful enrolment starts a new browser session, as an unlock does.</summary>
[WithoutDevice]
public sealed class EnrolModel(DeviceSession device, Texts texts, LocalAccess access) : AppPageModel(device, texts)
{
    public const int MinimumPassphraseLength = 10;

    public IActionResult OnGet() => Device.State == DeviceState.NotEnrolled ? Page() : Redirect("/");

    public Task<IActionResult> OnPostAsync(string? server, string? code, string? passphrase, string? confirmation) => ChangeAsync(async () =>
    {
        if (Device.State != DeviceState.NotEnrolled)
        {
            return Redirect("/");
        }

        if (!Uri.TryCreate(server, UriKind.Absolute, out var url) || url.Scheme is not ("https" or "http"))
        {
            return Refuse("enrol.bad-server");
        }

        if (string.IsNullOrWhiteSpace(code))
        {
            return Refuse("enrol.no-code");
        }

        if (passphrase is null || passphrase.Length < MinimumPassphraseLength)
        {
            return Refuse("enrol.short-passphrase");
        }

        if (!string.Equals(passphrase, confirmation, StringComparison.Ordinal))
        {
            return Refuse("enrol.mismatch");
        }

        await Device.EnrolAsync(url, code.Trim(), passphrase, HttpContext.RequestAborted);
        access.StartNewSession(Response);
        return Redirect("/conversations");
    }, () => Redirect("/enrol"));

    private RedirectResult Refuse(string key)
    {
        TempData["error"] = T[key];
        return Redirect("/enrol");
    }
}
