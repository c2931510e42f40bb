using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Messaging.App.Pages;

/// <summary>
/// Whether the device is still unlocked, asked every few seconds by every page shown while it was (app.js, with the
/// live header, so asking is not use and never extends the idle time): 204 while unlocked; once the idle time passed, or
/// the lock button was pressed in another tab, <see cref="DeviceStateFilter"/> locks and answers 401, and the page leaves
/// for the unlock page by itself. So a page of decrypted content (a person's identity, notes, an enrolment code) does not
/// stay on an unattended screen until the next click (outside review 2026-11-29, app F5).
/// </summary>
public sealed class StateModel : PageModel
{
    public IActionResult OnGet() => new NoContentResult();
}
