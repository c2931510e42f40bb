using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;

namespace Messaging.Client.Notices;

/// <summary>What a certificate carries: the signed notice, the signing device's key-log entries, and the names the
/// issuing client's directory gave (names are shown, never signed).</summary>
/// <param name="SignedNotice">The signed attestation bytes.</param>
/// <param name="SignerEntries">The signing device's <see cref="KeyLogAction.Added"/> and <see cref="KeyLogAction.Revoked"/> entries.</param>
/// <param name="IssuerName">The issuing worker's display name, when known.</param>
/// <param name="ServiceName">The issuing service's name, when known.</param>
public sealed record CertificateData(byte[] SignedNotice, IReadOnlyList<KeyLogEntry> SignerEntries, string? IssuerName, string? ServiceName);

/// <summary>The outcome of checking a certificate offline.</summary>
public enum CertificateStatus
{
    /// <summary>Unaltered, signed by the device the embedded key-log entry records, which was not revoked.</summary>
    Valid = 1,

    /// <summary>Unaltered and validly signed, but the embedded key log records the signing device as revoked.</summary>
    SignerRevoked = 2,

    /// <summary>No embedded, self-consistent key-log entry records the signing key for the issuing device and member.</summary>
    SignerUnknown = 3,

    /// <summary>The file is not the certificate as rendered (a byte was changed, added or removed), or the signature fails.</summary>
    Altered = 4,
}

/// <summary>The result of <see cref="AttendanceCertificate.Verify"/>.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Notice">The notice, when it could be read.</param>
/// <param name="VerificationCode">The code printed on the certificate, when it could be read.</param>
/// <param name="Reason">Why, in one sentence (no content).</param>
public sealed record CertificateCheck(CertificateStatus Status, AttendanceNotice? Notice, string? VerificationCode, string Reason);

/// <summary>
/// The printable attendance certificate: one self-contained HTML file (print stylesheet included) showing the notice and
/// a verification code, with the signed attestation and the signer's key-log entries embedded as JSON. The HTML is a
/// deterministic rendering of the embedded data, so <see cref="Verify"/> re-renders it and compares every byte: a
/// certificate altered by one byte anywhere fails. Then the signature is checked against the identity key the embedded,
/// self-hashed key-log entry records for the issuing device and member.
/// </summary>
public static class AttendanceCertificate
{
    private const string DataOpen = "<script type=\"application/json\" id=\"messaging-attendance-certificate\">";
    private const string DataClose = "</script>";

    private const string Style = """
        body { font-family: "DejaVu Sans", Arial, sans-serif; margin: 2.5em; color: #111; }
        h1 { font-size: 1.6em; border-bottom: 2px solid #111; padding-bottom: .3em; }
        table { border-collapse: collapse; width: 100%; margin: 1.5em 0; }
        th, td { text-align: left; padding: .45em .6em; border-bottom: 1px solid #bbb; vertical-align: top; }
        th { width: 30%; font-weight: 600; }
        .code { font-family: "DejaVu Sans Mono", monospace; font-size: 1.4em; letter-spacing: .08em; }
        .note { font-size: .85em; color: #444; }
        @media print { body { margin: 1.5cm; } .note { color: #000; } a { color: #000; text-decoration: none; } @page { size: A4; margin: 1.5cm; } }
        """;

    /// <summary>The verification code of a signed notice: the first 80 bits of its SHA-256, in five groups of four hex digits.</summary>
    /// <param name="signedNotice">The signed attestation bytes.</param>
    /// <returns>For example <c>3F2A-…</c>.</returns>
    public static string VerificationCode(ReadOnlySpan<byte> signedNotice)
    {
        var hex = Convert.ToHexString(SHA256.HashData(signedNotice).AsSpan(0, 10));
        return string.Join('-', Enumerable.Range(0, 5).Select(i => hex.Substring(i * 4, 4)));
    }

    /// <summary>Renders the certificate.</summary>
    /// <param name="data">What it carries; the signed notice must be a readable attendance notice.</param>
    /// <returns>The HTML.</returns>
    /// <exception cref="MalformedAttestationException">The signed notice is not an attendance notice.</exception>
    public static string Render(CertificateData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var notice = AttendanceNotice.FromAttestation(SignedAttestation.Parse(data.SignedNotice).Attestation);
        var rows = new List<(string, string)>
        {
            ("Notice", notice.NoticeId.ToString("D")),
            ("Kind", Describe(notice.Kind)),
        };
        if (notice.Justification is { } justification)
        {
            rows.Add(("Justification", AttendanceNotice.JustificationCode(justification)));
        }

        rows.Add(notice.InterviewId is { } interview
            ? ("Interview", interview.ToString("D"))
            : ("Date", notice.InterviewDate!.Value.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)));
        rows.Add(("Case reference", notice.CaseReference));
        rows.Add(("Issuing service", $"{data.ServiceName ?? "(unknown)"} — {notice.IssuerOrganisationId:D}"));
        rows.Add(("Issued by", $"{data.IssuerName ?? "(unknown)"} — {notice.IssuerMemberId:D}"));
        rows.Add(("Signing device", notice.IssuerDeviceId.ToString("D")));
        rows.Add(("Issued at (UTC)", notice.IssuedAt.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)));
        rows.Add(("For justice assistant", notice.AudienceMemberId.ToString("D")));

        var html = new StringBuilder();
        html.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Attendance certificate</title>\n<style>\n")
            .Append(Style).Append("\n</style>\n").Append(DataOpen).Append(Serialize(data)).Append(DataClose).Append("\n</head>\n<body>\n")
            .Append("<h1>Attendance certificate</h1>\n<table>\n");
        foreach (var (label, value) in rows)
        {
            html.Append("<tr><th>").Append(WebUtility.HtmlEncode(label)).Append("</th><td>").Append(WebUtility.HtmlEncode(value)).Append("</td></tr>\n");
        }

        html.Append("</table>\n<p>Verification code: <span class=\"code\">").Append(VerificationCode(data.SignedNotice)).Append("</span></p>\n")
            .Append("<p class=\"note\">This notice was signed by the issuing worker's device (protocol 7.C). The signed notice and the ")
            .Append("device's key-log entry are embedded in this file: check it offline with <code>messaging verify-certificate FILE</code>. ")
            .Append("Names are those of the directory when the certificate was made; the signature covers the ids.</p>\n</body>\n</html>\n");
        return html.ToString();
    }

    /// <summary>Checks a certificate offline: exact re-rendering, the key-log entries' own hashes, the signer's entry and
    /// the signature.</summary>
    /// <param name="html">The file's text.</param>
    /// <returns>The check's outcome; never throws for bad input.</returns>
    public static CertificateCheck Verify(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        CertificateData data;
        AttendanceNotice notice;
        SignedAttestation signed;
        try
        {
            data = Deserialize(html);
            signed = SignedAttestation.Parse(data.SignedNotice);
            notice = AttendanceNotice.FromAttestation(signed.Attestation);
            if (!string.Equals(Render(data), html, StringComparison.Ordinal))
            {
                return new(CertificateStatus.Altered, null, null, "The file differs from the certificate its embedded data renders: it was altered.");
            }
        }
        catch (Exception e) when (e is JsonException or FormatException or CryptoException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return new(CertificateStatus.Altered, null, null, "The file is not a readable attendance certificate: it was altered or is not one.");
        }

        var code = VerificationCode(data.SignedNotice);
        var consistent = data.SignerEntries.Where(e => KeyLogHash.Compute(e).AsSpan().SequenceEqual(e.Hash)
            && e.DeviceId == notice.IssuerDeviceId && e.MemberId == notice.IssuerMemberId).ToList();
        var added = consistent.FirstOrDefault(e => e.Action == KeyLogAction.Added && e.IdentityKey.AsSpan().SequenceEqual(signed.Signer.ToBytes()));
        if (added is null || !IdentityPublicKey.TryParse(added.IdentityKey, out var identity))
        {
            return new(CertificateStatus.SignerUnknown, notice, code, "No embedded key-log entry records the signing key for the issuing device: the signer is unknown.");
        }

        try
        {
            signed.Verify(identity!);
        }
        catch (SignatureVerificationException)
        {
            return new(CertificateStatus.Altered, notice, code, "The notice's signature does not verify.");
        }

        return consistent.Any(e => e.Action == KeyLogAction.Revoked && e.Index > added.Index)
            ? new(CertificateStatus.SignerRevoked, notice, code, "The signature verifies, but the key log records the signing device as revoked.")
            : new(CertificateStatus.Valid, notice, code, "The signature verifies under the signing device's key-log entry.");
    }

    private static string Describe(AttendanceNoticeKind kind) => kind switch
    {
        AttendanceNoticeKind.Present => "present at the interview",
        AttendanceNoticeKind.JustifiedAbsence => "justified absence",
        AttendanceNoticeKind.NoShow => "interview in vain (no-show)",
        AttendanceNoticeKind.UnilateralEnd => "unilateral end of the follow-up",
        AttendanceNoticeKind.RiskToPerson => "risk for the person: call the service",
        AttendanceNoticeKind.RiskToThirdParties => "risk for third parties: call the service",
        _ => AttendanceNotice.KindCode(kind),
    };

    private static string Serialize(CertificateData data)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteNumber("version", 1);
            json.WriteBase64String("signedNotice", data.SignedNotice);
            json.WriteStartArray("signerKeyLog");
            foreach (var e in data.SignerEntries)
            {
                json.WriteStartObject();
                json.WriteNumber("index", e.Index);
                json.WriteNumber("timestamp", e.Timestamp.ToUnixTimeMilliseconds());
                json.WriteNumber("action", (int)e.Action);
                json.WriteString("deviceId", e.DeviceId.ToString("D"));
                json.WriteString("memberId", e.MemberId.ToString("D"));
                json.WriteBase64String("identityKey", e.IdentityKey);
                json.WriteBase64String("previousHash", e.PreviousHash);
                json.WriteBase64String("hash", e.Hash);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            WriteNullable(json, "issuerName", data.IssuerName);
            WriteNullable(json, "serviceName", data.ServiceName);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteNullable(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    private static CertificateData Deserialize(string html)
    {
        var start = html.IndexOf(DataOpen, StringComparison.Ordinal);
        var end = start < 0 ? -1 : html.IndexOf(DataClose, start + DataOpen.Length, StringComparison.Ordinal);
        if (start < 0 || end < 0)
        {
            throw new FormatException("No embedded certificate data.");
        }

        using var document = JsonDocument.Parse(html.AsMemory(start + DataOpen.Length, end - start - DataOpen.Length));
        var root = document.RootElement;
        if (root.GetProperty("version").GetInt32() != 1)
        {
            throw new FormatException("Unknown certificate version.");
        }

        var entries = root.GetProperty("signerKeyLog").EnumerateArray().Select(e => new KeyLogEntry(
            e.GetProperty("index").GetInt64(),
            DateTimeOffset.FromUnixTimeMilliseconds(e.GetProperty("timestamp").GetInt64()),
            (KeyLogAction)e.GetProperty("action").GetInt32(),
            Guid.ParseExact(e.GetProperty("deviceId").GetString()!, "D"),
            Guid.ParseExact(e.GetProperty("memberId").GetString()!, "D"),
            e.GetProperty("identityKey").GetBytesFromBase64(),
            e.GetProperty("previousHash").GetBytesFromBase64(),
            e.GetProperty("hash").GetBytesFromBase64())).ToList();
        return new CertificateData(root.GetProperty("signedNotice").GetBytesFromBase64(), entries,
            root.GetProperty("issuerName").GetString(), root.GetProperty("serviceName").GetString());
    }
}
