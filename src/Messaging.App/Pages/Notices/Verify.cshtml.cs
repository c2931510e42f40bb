using System.Text;
using Messaging.App.Device;
using Messaging.App.Localization;
using Messaging.Client.Notices;
using Microsoft.AspNetCore.Mvc;

namespace Messaging.App.Pages.Notices;

/// <summary>
/// The check of a printable attendance certificate (<c>messaging verify-certificate FILE</c>), for anyone unlocked: the
/// uploaded HTML is read in memory, checked by the SDK against this device's verified key log (synced first; the file is
/// not sent) and answered on the same response. It is never kept (no redirect carrying it, no temporary file: the form
/// stays in memory up to its limit) and never logged. The key-log entries the file embeds never make it valid.
/// </summary>
[RequestFormLimits(MultipartBodyLengthLimit = FormLimit, MemoryBufferThreshold = FormLimit)]
[RequestSizeLimit(FormLimit)]
public sealed class VerifyModel(DeviceSession device, Texts texts) : AppPageModel(device, texts)
{
    /// <summary>A certificate is a few kilobytes; anything bigger is not one.</summary>
    public const int MaxBytes = 1024 * 1024;

    // Room for a file a little over the limit, so that it gets the sentence rather than a refused request.
    private const int FormLimit = 4 * MaxBytes;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The outcome of the check, when a file was checked.</summary>
    public CertificateCheck? Check { get; private set; }

    /// <summary>Why no check was made (a sentence), when the upload was refused.</summary>
    public string? Refusal { get; private set; }

    public void OnGet()
    {
    }

    public async Task<IActionResult> OnPostAsync(IFormFile? certificate)
    {
        if (certificate is null || certificate.Length == 0)
        {
            Refusal = T["verify.no-file"];
            return Page();
        }

        if (certificate.Length > MaxBytes)
        {
            Refusal = T["verify.too-big"];
            return Page();
        }

        var html = await ReadHtmlAsync(certificate, HttpContext.RequestAborted);
        if (html is null)
        {
            Refusal = T["verify.not-html"];
            return Page();
        }

        try
        {
            Check = await Device.Client.VerifyAttendanceCertificateAsync(html, HttpContext.RequestAborted);
        }
        catch (Exception ex) when (Texts.IsExpected(ex))
        {
            Refusal = T.Error(ex);
        }

        return Page();
    }

    /// <summary>The check's reason as a sentence in the chosen language (the SDK's own reason is English only).</summary>
    public string Reason(CertificateCheck check) => T[check.Status switch
    {
        CertificateStatus.Valid => "verify.reason.valid",
        CertificateStatus.SignerRevoked => "verify.reason.signer-revoked",
        CertificateStatus.SignerUnknown => "verify.reason.signer-unknown",
        CertificateStatus.NotAuthenticated => "verify.reason.not-authenticated",
        _ when check.Notice is not null => "verify.reason.bad-signature",
        _ => "verify.reason.altered",
    }];

    /// <summary>The file's text, when it is named and typed as HTML and is UTF-8 text; otherwise null.</summary>
    private static async Task<string?> ReadHtmlAsync(IFormFile file, CancellationToken cancellationToken)
    {
        var extension = Path.GetExtension(file.FileName);
        var named = extension.Equals(".html", StringComparison.OrdinalIgnoreCase) || extension.Equals(".htm", StringComparison.OrdinalIgnoreCase);
        var typed = string.IsNullOrEmpty(file.ContentType) || file.ContentType.StartsWith("text/html", StringComparison.OrdinalIgnoreCase);
        if (!named || !typed)
        {
            return null;
        }

        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, cancellationToken);
        try
        {
            return StrictUtf8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            return null;
        }
    }
}
