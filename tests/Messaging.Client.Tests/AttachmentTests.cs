using System.Security.Cryptography;
using System.Text;
using Messaging.Client.Attachments;
using Messaging.Client.Cases;
using Messaging.Client.Tests.Infrastructure;
using Messaging.Contracts;
using Messaging.Contracts.Referrals;

namespace Messaging.Client.Tests;

/// <summary>Case-note attachments as encrypted blobs beside the envelope, against the real server process: every device
/// of the receiving service gets the identical file, the 25 MiB limit holds on the device, an altered blob is never
/// shown, and the server never holds the file or its name.</summary>
public sealed class AttachmentTests
{
    private sealed record World(Platform Platform, string CaseReference, Guid ConsentId, MessagingClient Aline, IReadOnlyList<MessagingClient> Receivers)
        : IAsyncDisposable
    {
        public string AttachmentsFolder => Path.Combine(Platform.Server.DataDirectory, "attachments");

        public ValueTask DisposeAsync() => Platform.DisposeAsync();
    }

    /// <summary>A referral from Aline's service to a service with five devices (Bruno's three, Claire's, the admin's),
    /// accepted, with a live consent for case-file content.</summary>
    private static async Task<World> SetUpAsync()
    {
        var platform = await Platform.StartAsync();
        var (_, adminX) = await platform.CreateOrganisationAsync("Service de prévention de Schaerbeek");
        var (serviceY, adminY) = await platform.CreateOrganisationAsync("Centre de santé mentale");
        var aline = await platform.EnrolDeviceAsync(adminX, await platform.CreateMemberAsync(adminX, "Aline"));
        var brunoId = await platform.CreateMemberAsync(adminY, "Bruno");
        var receivers = new List<MessagingClient>
        {
            await platform.EnrolDeviceAsync(adminY, brunoId),
            await platform.EnrolDeviceAsync(adminY, brunoId),
            await platform.EnrolDeviceAsync(adminY, brunoId),
            await platform.EnrolDeviceAsync(adminY, await platform.CreateMemberAsync(adminY, "Claire")),
            adminY,
        };

        var record = new ReferralRecord(CaseReference.New(), RequestNature.Individual, Requester.Family, "21015", false, ReasonCategory.PsychosocialSupport, Urgency.Priority);
        await aline.ReferAsync(serviceY, record);
        await ReceivedAsync(receivers[0], EnvelopeKind.Referral);
        await receivers[0].RespondToReferralAsync(record.CaseReference, ReferralResponse.Accept);
        var consent = await aline.RecordConsentAsync(record.CaseReference, serviceY, TimeProvider.System.GetUtcNow().AddDays(30));
        return new World(platform, record.CaseReference, consent.ConsentId, aline, receivers);
    }

    private static Task<IReadOnlyList<InboxMessage>> ReceivedAsync(MessagingClient device, EnvelopeKind kind, int count = 1)
        => device.InboxWhenAsync(i => i.Count(m => m.Kind == kind) >= count);

    /// <summary>Random bytes behind a PDF header: what a scanned report looks like to the cipher.</summary>
    private static byte[] Pdf(int size)
    {
        var bytes = new byte[size];
        RandomNumberGenerator.Fill(bytes);
        "%PDF-1.7\n"u8.CopyTo(bytes);
        return bytes;
    }

    private static async Task<CaseAttachment> ReceivedAttachmentAsync(MessagingClient device, string caseReference)
    {
        await ReceivedAsync(device, EnvelopeKind.CaseFile);
        return Assert.Single(Assert.Single((await device.GetCaseAsync(caseReference)).Notes).Attachments);
    }

    [Fact]
    public async Task APdfSentWithACaseNote_ReachesEveryDeviceOfTheReceivingService_Identical_AndTheServerNeverHoldsItOrItsName()
    {
        await using var w = await SetUpAsync();
        var marker = Guid.NewGuid().ToString("N")[..12];
        var fileName = $"bilan-{marker}.pdf";
        var pdf = Pdf((3 * 1024 * 1024) + 12_345);

        var receipt = await w.Aline.SendCaseNoteAsync(w.CaseReference, w.ConsentId, $"Bilan joint {marker}.", [new AttachmentFile(fileName, "application/pdf", pdf)]);
        Assert.True(receipt.Recipients >= 4, $"{receipt.Recipients} recipient device(s)");

        foreach (var device in w.Receivers)
        {
            var attachment = await ReceivedAttachmentAsync(device, w.CaseReference);
            Assert.Equal((fileName, "application/pdf", (long)pdf.Length), (attachment.FileName, attachment.MediaType, attachment.Size));
            var file = await device.OpenAttachmentAsync(attachment);
            Assert.Equal((fileName, "application/pdf"), (file.FileName, file.MediaType));
            Assert.True(pdf.AsSpan().SequenceEqual(file.Content), "the received file differs from the one sent");
        }

        // One blob on the server, of the encrypted size; no file, slice of it or name in any of the server's files or logs.
        var blob = Assert.Single(Directory.GetFiles(w.AttachmentsFolder));
        Assert.Equal(pdf.Length + 41, new FileInfo(blob).Length);
        var secrets = new[] { pdf[..64], pdf[(pdf.Length / 2)..((pdf.Length / 2) + 32)], pdf[^32..], Encoding.UTF8.GetBytes(marker), Encoding.Unicode.GetBytes(marker) };
        foreach (var path in Directory.GetFiles(w.Platform.Server.DataDirectory, "*", SearchOption.AllDirectories))
        {
            var bytes = await File.ReadAllBytesAsync(path);
            foreach (var secret in secrets)
            {
                Assert.True(bytes.AsSpan().IndexOf(secret) < 0, $"part of the file or its name found in {Path.GetFileName(path)}");
            }
        }

        Assert.DoesNotContain(marker, w.Platform.Server.Logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheLargestFile_TravelsEndToEnd_AndOneByteMore_IsRefusedOnTheDevice_WithNothingUploaded()
    {
        await using var w = await SetUpAsync();
        var largest = Pdf((int)AttachmentFile.MaxBytes);

        await w.Aline.SendCaseNoteAsync(w.CaseReference, w.ConsentId, "", [new AttachmentFile("dossier.pdf", "application/pdf", largest)]);
        // The blob of the largest file is exactly the server's 25 MiB.
        Assert.Equal(25L * 1024 * 1024, new FileInfo(Assert.Single(Directory.GetFiles(w.AttachmentsFolder))).Length);
        var received = await w.Receivers[0].OpenAttachmentAsync(await ReceivedAttachmentAsync(w.Receivers[0], w.CaseReference));
        Assert.True(largest.AsSpan().SequenceEqual(received.Content), "the largest file came back different");

        var tooLarge = await Assert.ThrowsAsync<AttachmentTooLargeException>(() =>
            w.Aline.SendCaseNoteAsync(w.CaseReference, w.ConsentId, "", [new AttachmentFile("dossier.pdf", "application/pdf", new byte[AttachmentFile.MaxBytes + 1])]));
        Assert.Equal(ErrorCodes.AttachmentTooLarge, tooLarge.Code);
        Assert.Single(Directory.GetFiles(w.AttachmentsFolder));
        Assert.Single((await w.Receivers[0].GetCaseAsync(w.CaseReference)).Notes);

        // The server's own limit answers with the same typed error (a blob of 25 MiB + 1 bytes, bypassing the device check).
        var refused = await Assert.ThrowsAsync<AttachmentTooLargeException>(async () =>
            await w.Aline.Api.UploadAttachmentAsync(await w.Aline.GetAccessTokenAsync(), new byte[(25 * 1024 * 1024) + 1]));
        Assert.Equal(ErrorCodes.AttachmentTooLarge, refused.Code);
        Assert.Single(Directory.GetFiles(w.AttachmentsFolder));
    }

    [Fact]
    public async Task ABlobAlteredOnTheServersDisk_OrAWrongDigest_IsRefusedWithATypedError_AndNeverShown()
    {
        await using var w = await SetUpAsync();
        var pdf = Pdf(200_000);
        await w.Aline.SendCaseNoteAsync(w.CaseReference, w.ConsentId, "Rapport.", [new AttachmentFile("rapport.pdf", "application/pdf", pdf)]);
        var device = w.Receivers[3];
        var attachment = await ReceivedAttachmentAsync(device, w.CaseReference);
        var intact = await device.OpenAttachmentAsync(attachment);
        Assert.True(pdf.AsSpan().SequenceEqual(intact.Content));

        // A digest or size that does not match the blob (as a substituted reference would have).
        var wrongDigest = attachment with { Sha256 = [.. attachment.Sha256.Select((b, i) => i == 0 ? (byte)(b ^ 1) : b)] };
        await Assert.ThrowsAsync<AttachmentIntegrityException>(() => device.OpenAttachmentAsync(wrongDigest));
        await Assert.ThrowsAsync<AttachmentIntegrityException>(() => device.OpenAttachmentAsync(attachment with { Size = attachment.Size - 1 }));

        // One byte changed on the server's disk.
        var blob = Path.Combine(w.AttachmentsFolder, attachment.AttachmentId);
        var bytes = await File.ReadAllBytesAsync(blob);
        bytes[bytes.Length / 2] ^= 0x01;
        await File.WriteAllBytesAsync(blob, bytes);
        await Assert.ThrowsAsync<AttachmentIntegrityException>(() => device.OpenAttachmentAsync(attachment));

        // The CLI reports it and writes nothing.
        var folder = Directory.CreateTempSubdirectory("attachments-").FullName;
        try
        {
            var path = await w.Platform.ReleaseAsync(device);
            var saved = await CliRunner.RunAsync(path, "case", "--case", w.CaseReference, "--save-attachments", folder);
            Assert.Equal(1, saved.ExitCode);
            Assert.Contains("not saved", saved.Error, StringComparison.Ordinal);
            Assert.Empty(Directory.GetFiles(folder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        // An unknown or expired id.
        var gone = await Assert.ThrowsAsync<AttachmentNotFoundException>(() => w.Receivers[0].OpenAttachmentAsync(attachment with { AttachmentId = new string('A', 43) }));
        Assert.Equal(ErrorCodes.AttachmentNotFound, gone.Code);
    }

    [Fact]
    public async Task TheCli_SendsAFileWithACaseNote_AndSavesItBack_ByteForByte()
    {
        await using var w = await SetUpAsync();
        var folder = Directory.CreateTempSubdirectory("attachments-").FullName;
        try
        {
            var source = Path.Combine(folder, "bilan.pdf");
            var pdf = Pdf(2 * 1024 * 1024);
            await File.WriteAllBytesAsync(source, pdf);
            var alineStore = await w.Platform.ReleaseAsync(w.Aline);

            var sent = await CliRunner.RunAsync(alineStore, "case-note", "--case", w.CaseReference, "--consent", w.ConsentId.ToString(), "--text", "Bilan.",
                "--attach", source, "--media-type", "application/pdf");
            Assert.True(sent.ExitCode == 0, sent.Error);

            var bruno = w.Receivers[0];
            await ReceivedAsync(bruno, EnvelopeKind.CaseFile);
            var brunoStore = await w.Platform.ReleaseAsync(bruno);
            var shown = await CliRunner.RunAsync(brunoStore, "case", "--case", w.CaseReference);
            Assert.Contains($"attachment bilan.pdf (application/pdf, {pdf.Length} bytes)", shown.Output, StringComparison.Ordinal);

            var target = Directory.CreateDirectory(Path.Combine(folder, "received")).FullName;
            var saved = await CliRunner.RunAsync(brunoStore, "case", "--case", w.CaseReference, "--save-attachments", target);
            Assert.True(saved.ExitCode == 0, saved.Error);
            Assert.Equal(pdf, await File.ReadAllBytesAsync(Path.Combine(target, "bilan.pdf")));

            // Saving again never overwrites: the second copy gets its own name.
            Assert.Equal(0, (await CliRunner.RunAsync(brunoStore, "case", "--case", w.CaseReference, "--save-attachments", target)).ExitCode);
            Assert.Equal(pdf, await File.ReadAllBytesAsync(Path.Combine(target, "bilan (2).pdf")));

            // Too large is refused by the CLI before the file is read or anything uploaded.
            var big = Path.Combine(folder, "big.pdf");
            await using (var stream = File.Create(big))
            {
                stream.SetLength(AttachmentFile.MaxBytes + 1);
            }

            var missing = await CliRunner.RunAsync(alineStore, "case-note", "--case", w.CaseReference, "--consent", w.ConsentId.ToString(), "--attach", Path.Combine(folder, "absent.pdf"));
            Assert.Equal(2, missing.ExitCode);
            Assert.Contains("--attach: the file cannot be read", missing.Error, StringComparison.Ordinal);

            var refused = await CliRunner.RunAsync(alineStore, "case-note", "--case", w.CaseReference, "--consent", w.ConsentId.ToString(), "--attach", big);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains(ErrorCodes.AttachmentTooLarge, refused.Error, StringComparison.Ordinal);
            Assert.Single(Directory.GetFiles(w.AttachmentsFolder));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Theory]
    [InlineData("bilan.pdf", "bilan.pdf")]
    [InlineData("../../etc/passwd", "passwd")]
    [InlineData("C:\\Users\\aline\\rapport final.docx", "rapport final.docx")]
    [InlineData("facture\u202Efdp.exe", "facturefdp.exe")]
    [InlineData("a\u200Bb\u0000c\n.txt", "abc.txt")]
    [InlineData(".bashrc", "bashrc")]
    [InlineData("...", "attachment")]
    [InlineData("CON.txt", "_CON.txt")]
    [InlineData("what?<now>.pdf", "what__now_.pdf")]
    [InlineData("Évaluation été.pdf", "Évaluation été.pdf")]
    public void AFileName_IsSanitised_ToANameSafeToShowAndWrite(string given, string expected)
    {
        Assert.Equal(expected, AttachmentNames.Sanitise(given));
        Assert.True(AttachmentNames.IsSafe(expected));
        Assert.Equal(given == expected, AttachmentNames.IsSafe(given));
    }

    [Fact]
    public void AVeryLongFileName_IsCut_KeepingItsExtension()
    {
        var name = AttachmentNames.Sanitise(new string('a', 300) + ".pdf");
        Assert.Equal(AttachmentNames.MaxFileNameLength, name.Length);
        Assert.EndsWith("a.pdf", name, StringComparison.Ordinal);
        Assert.True(AttachmentNames.IsSafe(name));
    }
}
