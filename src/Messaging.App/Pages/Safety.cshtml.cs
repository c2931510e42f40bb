using Messaging.App.Device;
using Messaging.App.Localization;
using Microsoft.AspNetCore.Mvc;
using QRCoder;

namespace Messaging.App.Pages;

/// <summary>
/// Compare safety numbers with a member: the member-key number (digits and a QR code drawn here, as SVG), the device
/// numbers, and — after the member's key changed — the confirmation that lets sends to them resume.
/// </summary>
public sealed class SafetyModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    public sealed record DeviceNumber(string Short, string Number);

    [BindProperty(SupportsGet = true)]
    public Guid Id { get; set; }

    public string Name { get; private set; } = "";

    public string? MemberNumber { get; private set; }

    public bool Unconfirmed { get; private set; }

    public IReadOnlyList<DeviceNumber> Devices { get; private set; } = [];

    public async Task OnGetAsync()
    {
        var client = Device.Client;
        var cancellationToken = HttpContext.RequestAborted;
        Name = (await People.LoadAsync(client, cancellationToken)).Member(Id, T["unknown.member"]);
        MemberNumber = await client.GetMemberSafetyNumberAsync(Id, cancellationToken);
        Unconfirmed = await client.IsMemberKeyUnconfirmedAsync(Id, cancellationToken);
        Devices = [.. (await client.GetSafetyNumbersAsync(Id, cancellationToken)).Select(d => new DeviceNumber(d.DeviceId.ToString("N")[..8], d.SafetyNumber))];
    }

    /// <summary>The member-key safety number as a QR code (SVG, made here: no third-party service sees it).</summary>
    public async Task<IActionResult> OnGetQrAsync()
    {
        var number = await Device.Client.GetMemberSafetyNumberAsync(Id, HttpContext.RequestAborted);
        if (number is null)
        {
            return NotFound();
        }

        using var data = QRCodeGenerator.GenerateQrCode(number.Replace(" ", "", StringComparison.Ordinal), QRCodeGenerator.ECCLevel.M);
        var svg = new SvgQRCode(data).GetGraphic(new System.Drawing.Size(240, 240), "#000000", "#ffffff", drawQuietZones: true, SvgQRCode.SizingMode.ViewBoxAttribute);
        return Content(svg, "image/svg+xml");
    }

    public Task<IActionResult> OnPostConfirmAsync(bool compared) => ChangeAsync(async () =>
    {
        if (!compared)
        {
            TempData["error"] = T["safety.compare-first"];
            return Redirect($"/safety/{Id}");
        }

        await Device.Client.ConfirmMemberKeyAsync(Id, HttpContext.RequestAborted);
        Device.KeyConfirmed(Id);
        Notify("safety.confirmed");
        return Redirect($"/safety/{Id}");
    }, () => Redirect($"/safety/{Id}"));
}
