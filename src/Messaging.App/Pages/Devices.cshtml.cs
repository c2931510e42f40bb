using System.Globalization;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client.KeyLog;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>The worker's own devices: whether this one is approved (else the code it shows), approving a new device of
/// theirs by the code it shows — after which it receives their conversations — and, on a device waiting for approval
/// when every other one is lost, resetting the member key behind a blocking confirmation.</summary>
public sealed class DevicesModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public bool Approved { get; private set; }

    public string ApprovalCode { get; private set; } = "";

    public IReadOnlyList<PendingDevice> Pending { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var client = Device.Client;
        Approved = await client.RefreshApprovalAsync(HttpContext.RequestAborted);
        ApprovalCode = client.ApprovalCode;
        Pending = Approved ? await client.GetPendingDevicesAsync(HttpContext.RequestAborted) : [];
    }

    /// <summary>Approves the one pending device whose code is all 20 digits typed (spaces ignored); anything else approves
    /// nothing. The whole code is what ties the approval to the device in the worker's hand (docs/crypto.md §11).</summary>
    public Task<IActionResult> OnPostApproveAsync(string? code) => ChangeAsync(async () =>
    {
        if (code is null || !Crypto.CrossSigning.ApprovalCode.IsWellFormed(code))
        {
            TempData["error"] = T["devices.code-invalid"];
            return Redirect("/devices");
        }

        await Device.Client.ApproveDeviceAsync(code, HttpContext.RequestAborted);
        Notify("devices.approved-notice");
        return Redirect("/devices");
    }, () => Redirect("/devices"));

    /// <summary>
    /// Every other device of this member is lost: a new member key, the other devices revoked by the server, every
    /// contact warned until they compare the new safety number. Only once the worker ticked that they understand; a
    /// device already approved is refused by the server (it should approve instead), and the page does not offer it.
    /// </summary>
    public Task<IActionResult> OnPostResetAsync(bool confirmed) => ChangeAsync(async () =>
    {
        if (!confirmed)
        {
            TempData["error"] = T["reset.confirm-first"];
            return Redirect("/devices");
        }

        await Device.Client.ResetMemberKeyAsync(HttpContext.RequestAborted);
        Notify("reset.done");
        return Redirect("/devices");
    }, () => Redirect("/devices"));

    /// <summary>
    /// <c>messaging inbox prune</c>: deletes the decrypted messages this device keeps that are older than a number of days
    /// and/or beyond the newest few; at least one, each a positive whole number, and only once the worker ticked that it
    /// is this device's copies only. Bad input deletes nothing.
    /// </summary>
    public Task<IActionResult> OnPostPruneAsync(string? olderThanDays, string? keep, bool confirmed) => ChangeAsync(async () =>
    {
        if (!TryCount(olderThanDays, out var days) || !TryCount(keep, out var newest) || (days is null && newest is null))
        {
            TempData["error"] = T["prune.invalid"];
            return Redirect("/devices");
        }

        if (!confirmed)
        {
            TempData["error"] = T["prune.confirm-first"];
            return Redirect("/devices");
        }

        var deleted = await Device.Client.DeleteMessagesAsync(days is { } d ? TimeSpan.FromDays(d) : null, newest, HttpContext.RequestAborted);
        TempData["notice"] = T.Format("prune.done", deleted);
        return Redirect("/devices");
    }, () => Redirect("/devices"));

    /// <summary>Blank is no value; otherwise a positive whole number (at most ten thousand years of days, no overflow).</summary>
    private static bool TryCount(string? text, out int? value)
    {
        value = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (!int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed < 1 || parsed > 3_650_000)
        {
            return false;
        }

        value = parsed;
        return true;
    }
}
