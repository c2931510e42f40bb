using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client;
using Messaging.Contracts;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Mvc.Filters;
using Microsoft.AspNetCore.Mvc.RazorPages;

namespace Messaging.App.Pages;

/// <summary>The pages' common ground: the device, the texts in the chosen language, and one way to show what went wrong
/// (a typed error turned into a sentence, carried over the redirect that follows every POST).</summary>
public abstract class AppPageModel(DeviceSession device, Texts texts) : PageModel
{
    protected DeviceSession Device { get; } = device;

    public Texts T { get; } = texts;

    /// <summary>Runs a state change; a refusal the worker can act on becomes the message shown after the redirect.</summary>
    protected async Task<IActionResult> ChangeAsync(Func<Task<IActionResult>> change, Func<IActionResult> onError)
    {
        try
        {
            return await change();
        }
        catch (Exception ex) when (Texts.IsExpected(ex))
        {
            TempData["error"] = T.Error(ex);
            return onError();
        }
    }

    protected void Notify(string key) => TempData["notice"] = T[key];
}

/// <summary>Pages that work before the device is unlocked (unlock, enrolment, language, the start page).</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class WithoutDeviceAttribute : Attribute;

/// <summary>
/// Every other page needs the unlocked device: otherwise the browser goes to the unlock (or enrolment) page, and a live
/// view's poll gets 401 (its script then goes there). Each page request counts as use for the idle lock; a poll does not.
/// A page that the server refuses because the device awaits approval sends the browser to the devices page, which shows
/// the code to approve it with.
/// </summary>
public sealed class DeviceStateFilter(DeviceSession device) : IAsyncPageFilter
{
    public const string LiveHeader = "X-Live";

    public Task OnPageHandlerSelectionAsync(PageHandlerSelectedContext context) => Task.CompletedTask;

    public async Task OnPageHandlerExecutionAsync(PageHandlerExecutingContext context, PageHandlerExecutionDelegate next)
    {
        var live = context.HttpContext.Request.Headers.ContainsKey(LiveHeader);
        device.LockIfIdle();
        var open = context.HandlerInstance.GetType().IsDefined(typeof(WithoutDeviceAttribute), inherit: false);
        if (!open && device.State != DeviceState.Unlocked)
        {
            context.Result = live ? new UnauthorizedResult()
                : new RedirectResult(device.State == DeviceState.NotEnrolled ? "/enrol" : "/unlock");
            return;
        }

        if (!live && device.State == DeviceState.Unlocked)
        {
            device.Touch();
        }

        var executed = await next();
        if (executed.Exception is ServerRefusedException { Code: ErrorCodes.DeviceAwaitingApproval } && !executed.ExceptionHandled)
        {
            // A device awaiting approval acts for its member in nothing: the devices page shows its approval code.
            executed.ExceptionHandled = true;
            executed.Result = live ? new ForbidResult() : new RedirectResult("/devices");
        }
    }
}
