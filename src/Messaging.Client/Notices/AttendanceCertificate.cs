using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Messaging.Contracts;
using Messaging.Crypto;
using Messaging.Crypto.Attestations;
using Messaging.Crypto.Keys;
using Messaging.Crypto.SafetyNumbers;

namespace Messaging.Client.Notices;

/// <summary>What a certificate carries: the signed notice, the signing device's key-log entries, and the names the
/// issuing client's directory gave (names are shown, never signed).</summary>
/// <param name="SignedNotice">The signed attestation bytes.</param>
/// <param name="SignerEntries">The signing device's <see cref="KeyLogAction.Added"/> and <see cref="KeyLogAction.Revoked"/> entries.</param>
/// <param name="IssuerName">The issuing worker's display name, when known.</param>
/// <param name="ServiceName">The issuing service's name, when known.</param>
public sealed record CertificateData(byte[] SignedNotice, IReadOnlyList<KeyLogEntry> SignerEntries, string? IssuerName, string? ServiceName);

/// <summary>The outcome of checking a certificate. Only a check against a verified key log of the verifier's own
/// (<see cref="MessagingClient.VerifyAttendanceCertificateAsync"/>) can answer <see cref="Valid"/>: a file cannot vouch for
/// the key it carries.</summary>
public enum CertificateStatus
{
    /// <summary>Unaltered, and signed with the key the verifier's verified key log records for the signing device of the
    /// issuing member, a device the log does not record as revoked.</summary>
    Valid = 1,

    /// <summary>Unaltered and validly signed, but the signing device is revoked: as the verifier's key log records it, or
    /// (checked without a key log) as the file itself records it.</summary>
    SignerRevoked = 2,

    /// <summary>The verifier's verified key log does not record the signing key for the issuing device and member,
    /// whatever key-log entries the file embeds: possibly a forgery.</summary>
    SignerUnknown = 3,

    /// <summary>The file is not the certificate as rendered (a byte was changed, added or removed), or the signature fails.</summary>
    Altered = 4,

    /// <summary>Checked without a key log (<see cref="AttendanceCertificate.Verify(string)"/>): the file is as rendered and its
    /// signature is consistent with the key printed in the file, but nothing outside the file vouches for that key. Anyone
    /// can make such a file; compare <see cref="CertificateCheck.SignerFingerprint"/> out of band, or check it on an
    /// enrolled device.</summary>
    NotAuthenticated = 5,
}

/// <summary>The result of <see cref="AttendanceCertificate.Verify(string)"/> or
/// <see cref="MessagingClient.VerifyAttendanceCertificateAsync"/>.</summary>
/// <param name="Status">The outcome.</param>
/// <param name="Notice">The notice, when it could be read (authenticated only when <paramref name="Status"/> is
/// <see cref="CertificateStatus.Valid"/> or <see cref="CertificateStatus.SignerRevoked"/> from a key-log check).</param>
/// <param name="VerificationCode">The code printed on the certificate, when it could be read.</param>
/// <param name="Reason">Why, in one sentence (no content).</param>
/// <param name="SignerFingerprint">When the notice could be read: the fingerprint of the identity key that signed it
/// (<see cref="SafetyNumber.IdentityFingerprint"/> with the issuing member's id), which is one half of every safety
/// number with the signing device; to compare out of band.</param>
public sealed record CertificateCheck(CertificateStatus Status, AttendanceNotice? Notice, string? VerificationCode, string Reason,
    string? SignerFingerprint = null);

/// <summary>The signing device as a verified key log records it for the notice's issuing member.</summary>
/// <param name="Identity">The device's logged identity key.</param>
/// <param name="Active">False once the log records the device as revoked.</param>
internal sealed record LoggedSigner(IdentityPublicKey Identity, bool Active);

/// <summary>
/// The printable attendance certificate: one self-contained HTML file (print stylesheet included) showing the notice and
/// a verification code, with the signed attestation and the signer's key-log entries embedded as JSON. The HTML is a
/// deterministic rendering of the embedded data, so a check re-renders it and compares every byte: a certificate altered
/// by one byte anywhere fails. The embedded entries are hints for a reader; they never make a certificate valid. Only
/// <see cref="MessagingClient.VerifyAttendanceCertificateAsync"/>, which checks the signer against the verifier's own
/// verified key log, answers <see cref="CertificateStatus.Valid"/>; <see cref="Verify(string)"/> (no key log) at best
/// says the signature is consistent with the key printed in the file.
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

    /// <summary>
    /// Checks a certificate with nothing but the file (no key log): exact re-rendering and the signature under the key
    /// the file itself carries. The file cannot vouch for that key — anyone can render a certificate with a key of their
    /// own and a self-hashed key-log entry for it — so this never answers <see cref="CertificateStatus.Valid"/>: at best
    /// <see cref="CertificateStatus.NotAuthenticated"/>, with the signer's fingerprint to compare out of band. A
    /// revocation the file itself records is reported (bad news from the file is believed, good news never). On an
    /// enrolled device, use <see cref="MessagingClient.VerifyAttendanceCertificateAsync"/>.
    /// </summary>
    /// <param name="html">The file's text.</param>
    /// <returns>The check's outcome; never throws for bad input.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="html"/> is null.</exception>
    public static CertificateCheck Verify(string html)
    {
        ArgumentNullException.ThrowIfNull(html);
        if (Read(html) is not { } read)
        {
            return Unreadable;
        }

        var (data, signed, notice) = read;
        if (!SignatureVerifies(signed, signed.Signer))
        {
            return read.Check(CertificateStatus.Altered, "The notice's signature does not verify.");
        }

        var signer = signed.Signer.ToBytes();
        return data.SignerEntries.Any(e => e.Action == KeyLogAction.Revoked && e.DeviceId == notice.IssuerDeviceId && e.MemberId == notice.IssuerMemberId
            && e.IdentityKey.AsSpan().SequenceEqual(signer))
            ? read.Check(CertificateStatus.SignerRevoked, "The signature verifies under the key the file carries, and the file itself records the signing device as revoked.")
            : read.Check(CertificateStatus.NotAuthenticated,
                "The signature is consistent with the key printed in the file, but no key log vouched for that key: not authenticated (compare the signer's fingerprint out of band, or check it on an enrolled device).");
    }

    /// <summary>
    /// Checks a certificate against the verifier's own verified key log: exact re-rendering, then the signature under the
    /// identity key <paramref name="signerOf"/> gives for the notice's signing device and issuing member, and that
    /// device's revocation. The embedded key-log entries are not consulted: they come from the file.
    /// </summary>
    /// <param name="html">The file's text.</param>
    /// <param name="signerOf">The signing device as the verified log records it for the issuing member; null when it does
    /// not record that device for that member.</param>
    internal static CertificateCheck Verify(string html, Func<AttendanceNotice, LoggedSigner?> signerOf)
    {
        if (Read(html) is not { } read)
        {
            return Unreadable;
        }

        if (signerOf(read.Notice) is not { } logged)
        {
            return read.Check(CertificateStatus.SignerUnknown,
                "The verified key log does not record the signing device for the issuing member: the signer is unknown, whatever the file embeds.");
        }

        if (!logged.Identity.Equals(read.Signed.Signer))
        {
            return read.Check(CertificateStatus.SignerUnknown,
                "The notice was signed with a key the verified key log does not record for the signing device: the signer is unknown, whatever the file embeds.");
        }

        if (!SignatureVerifies(read.Signed, logged.Identity))
        {
            return read.Check(CertificateStatus.Altered, "The notice's signature does not verify.");
        }

        // The issue time is the signer's own claim, so a revoked device's notice is reported as such whatever its date.
        return logged.Active
            ? read.Check(CertificateStatus.Valid, "The signature verifies under the key the verified key log records for the signing device, which is not revoked.")
            : read.Check(CertificateStatus.SignerRevoked, "The signature verifies, but the verified key log records the signing device as revoked.");
    }

    private static CertificateCheck Unreadable { get; } = new(CertificateStatus.Altered, null, null,
        "The file is not the certificate its embedded data renders, or not a readable attendance certificate: it was altered or is not one.");

    private static bool SignatureVerifies(SignedAttestation signed, IdentityPublicKey identity)
    {
        try
        {
            signed.Verify(identity);
            return true;
        }
        catch (SignatureVerificationException)
        {
            return false;
        }
    }

    /// <summary>The embedded data, when the file reads as an attendance certificate, is exactly its rendering and its
    /// embedded key-log entries hash to their own hashes.</summary>
    private static ReadCertificate? Read(string html)
    {
        try
        {
            var data = Deserialize(html);
            var signed = SignedAttestation.Parse(data.SignedNotice);
            var notice = AttendanceNotice.FromAttestation(signed.Attestation);
            // An embedded entry that does not hash to its own hash was altered: that says nothing of the signer, but the
            // file is not the certificate as rendered.
            return string.Equals(Render(data), html, StringComparison.Ordinal) && data.SignerEntries.All(e => KeyLogHash.Compute(e).AsSpan().SequenceEqual(e.Hash))
                ? new ReadCertificate(data, signed, notice)
                : null;
        }
        catch (Exception e) when (e is JsonException or FormatException or CryptoException or KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            return null;
        }
    }

    private sealed record ReadCertificate(CertificateData Data, SignedAttestation Signed, AttendanceNotice Notice)
    {
        public CertificateCheck Check(CertificateStatus status, string reason)
            => new(status, Notice, VerificationCode(Data.SignedNotice), reason, SafetyNumber.IdentityFingerprint(Notice.IssuerMemberId.ToString("D"), Signed.Signer));
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
