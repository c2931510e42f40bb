using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client.KeyLog;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages;

/// <summary>The worker's own devices: whether this one is approved (else the code it shows), and approving a new device
/// of theirs by the code it shows — after which it receives their conversations.</summary>
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
}
