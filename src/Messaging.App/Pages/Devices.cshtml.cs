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

    public Task<IActionResult> OnPostApproveAsync(string? code) => ChangeAsync(async () =>
    {
        await Device.Client.ApproveDeviceAsync((code ?? "").Replace(" ", "", StringComparison.Ordinal), HttpContext.RequestAborted);
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
}
