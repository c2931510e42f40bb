using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Notices;

/// <summary>
/// The printable attendance certificate of a verified notice, exactly as the SDK renders it (its own style sheet, the
/// signed notice embedded for offline checking with <c>messaging verify-certificate</c>). Served with a policy of its
/// own: nothing may load or run, and only its one style block, allowed by hash, applies.
/// </summary>
public sealed partial class CertificateModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    [BindProperty(SupportsGet = true)]
    public Guid Id { get; set; }

    public async Task<IActionResult> OnGetAsync()
    {
        string html;
        try
        {
            html = await Device.Client.CreateAttendanceCertificateAsync(Id, HttpContext.RequestAborted);
        }
        catch (NoticeNotFoundException)
        {
            return NotFound();
        }

        var styles = string.Join(' ', StyleBlock().Matches(html).Select(m => $"'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(m.Groups[1].Value)))}'"));
        Response.Headers.ContentSecurityPolicy = $"default-src 'none'; style-src {(styles.Length > 0 ? styles : "'none'")}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
        return Content(html, "text/html; charset=utf-8");
    }

    [GeneratedRegex("<style>(.*?)</style>", RegexOptions.Singleline)]
    private static partial Regex StyleBlock();
}
