using System.Globalization;
using System.Text;
using Messaging.App.Tests.Infrastructure;
using Messaging.Client.Attachments;
using Messaging.Contracts.Referrals;
using Microsoft.Playwright;
using static Microsoft.Playwright.Assertions;

namespace Messaging.App.Tests;

/// <summary>A file in the case's conversation: the referring worker attaches a PDF to a case note in their app (a
/// multipart form, encrypted on their device by the SDK); the receiving worker downloads it in theirs and gets the same
/// bytes. A file over the limit is refused with the limit in the worker's language, and nothing is sent.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AttachmentAppTests(BrowserWorld world)
{
    [Fact]
    public async Task AWorkerAttachesAPdfToACaseNote_TheOtherDownloadsTheSameBytes_AndAFileOverTheLimitIsRefusedInTheirLanguage()
    {
        var platform = world.Platform;
        var marker = Guid.NewGuid().ToString("N")[..8];
        var (aline, bruno, _, serviceY, record) = await ReferredCase.CreateAsync(platform, marker, ReferralResponse.Accept);
        await aline.RecordConsentAsync(record.CaseReference, serviceY, TimeProvider.System.GetUtcNow().AddDays(30));
        // 200 KB, as a scanned report is: past the form reader's 64 KiB in-memory default, above which ASP.NET would spill
        // the upload, in clear, to a temporary file.
        var pdf = Pdf($"Rapport de suivi {marker}", padding: 200_000);
        var casePath = $"/cases/{record.CaseReference}";

        await using var sender = await AppWorker.OpenAsync(world, "Aline", aline);
        await using var receiver = await AppWorker.OpenAsync(world, "Bruno", bruno);

        // Over the limit: refused before anything is encrypted or uploaded, the limit named in French.
        await sender.GoAsync(casePath);
        await Expect(sender.Page.Locator("#files-help")).ToContainTextAsync("25 Mo au plus par fichier");
        await sender.Page.GetByLabel("Note", new() { Exact = true }).FillAsync($"Trop lourd {marker}");
        // From a file on disk, which the local browser reads itself: as a buffer, the 25 MB crossed Playwright's pipe in
        // base64 and took more than the 20-second timeout on a slow machine. The file is sparse and outlives the page.
        await using var tooLarge = new TemporaryFile("scan.pdf", AttachmentFile.MaxBytes + 1);
        await sender.Page.GetByLabel("Fichiers joints (facultatif)").SetInputFilesAsync(tooLarge.Path);
        await sender.Page.Locator("#send-note").ClickAsync();
        await Expect(sender.Page.Locator("#error")).ToHaveTextAsync("Un fichier dépasse 25 Mo ; rien n'a été envoyé.");

        await sender.Page.GetByLabel("Note", new() { Exact = true }).FillAsync($"Rapport joint {marker}");
        await sender.Page.GetByLabel("Fichiers joints (facultatif)").SetInputFilesAsync(new FilePayload { Name = "rapport-suivi.pdf", MimeType = "application/pdf", Buffer = pdf });
        await sender.ScanAsync("case note form with a file");
        var spilled = new System.Collections.Concurrent.ConcurrentQueue<string>();
        using (var watcher = new FileSystemWatcher(sender.App.TempDirectory) { IncludeSubdirectories = true })
        {
            watcher.Created += (_, e) => spilled.Enqueue(e.Name ?? "");
            watcher.EnableRaisingEvents = true;
            await sender.Page.Locator("#send-note").ClickAsync();
            await Expect(sender.Page.Locator("#notice")).ToContainTextAsync("Note envoyée");
        }

        // The file went from the browser to the device's memory, to be encrypted there: never to the app's disk.
        Assert.DoesNotContain(spilled, name => name.StartsWith("ASPNETCORE_", StringComparison.Ordinal));

        await receiver.GoAsync(casePath);
        await WorkflowTests.ReloadUntilVisibleAsync(receiver.Page, receiver.Page.Locator(".note .attachment"));
        var note = receiver.Page.Locator(".note", new() { HasText = $"Rapport joint {marker}" });
        await Expect(note.Locator(".attachment")).ToHaveTextAsync("rapport-suivi.pdf");
        await Expect(receiver.Page.Locator(".note", new() { HasText = "Trop lourd" })).ToHaveCountAsync(0);
        await receiver.ScanAsync("case note with an attachment");
        await receiver.ScreenshotAsync("case-note-attachment");
        var download = await receiver.Page.RunAndWaitForDownloadAsync(() => note.Locator(".attachment").ClickAsync());
        Assert.Equal("rapport-suivi.pdf", download.SuggestedFilename);
        Assert.Equal(pdf, await File.ReadAllBytesAsync(await download.PathAsync()));
        // A file's name may name the person: it is in no URL and no log of either app.
        Assert.DoesNotContain("rapport-suivi", download.Url, StringComparison.Ordinal);
        Assert.DoesNotContain("rapport-suivi", string.Join("\n", sender.Urls.Concat(receiver.Urls)), StringComparison.Ordinal);
        Assert.DoesNotContain("rapport-suivi", sender.App.Logs, StringComparison.Ordinal);
        Assert.DoesNotContain("rapport-suivi", receiver.App.Logs, StringComparison.Ordinal);
        Assert.NotEmpty(receiver.App.Logs);
    }

    /// <summary>A small, valid one-page PDF (with the binary comment line PDF writers put after the header, so that a
    /// byte changed by a text conversion would show).</summary>
    /// <summary>A one-page PDF; <paramref name="padding"/> bytes of comment lines in its content stream make it the size
    /// of a scanned report.</summary>
    private static byte[] Pdf(string line, int padding = 0)
    {
        var stream = $"BT /F1 14 Tf 72 770 Td ({line}) Tj ET" + string.Concat(Enumerable.Repeat("\n% " + new string('0', 76), padding / 80));
        string[] objects =
        [
            "<< /Type /Catalog /Pages 2 0 R >>",
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
            string.Create(CultureInfo.InvariantCulture, $"<< /Length {stream.Length} >>\nstream\n{stream}\nendstream"),
            "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ];
        using var pdf = new MemoryStream();
        void Write(string text) => pdf.Write(Encoding.Latin1.GetBytes(text));
        Write("%PDF-1.4\n%\u00e2\u00e3\u00cf\u00d3\n");
        var offsets = new List<long>();
        for (var i = 0; i < objects.Length; i++)
        {
            offsets.Add(pdf.Position);
            Write(string.Create(CultureInfo.InvariantCulture, $"{i + 1} 0 obj\n{objects[i]}\nendobj\n"));
        }

        var xref = pdf.Position;
        Write(string.Create(CultureInfo.InvariantCulture, $"xref\n0 {objects.Length + 1}\n0000000000 65535 f \n"));
        foreach (var offset in offsets)
        {
            Write(string.Create(CultureInfo.InvariantCulture, $"{offset:D10} 00000 n \n"));
        }

        Write(string.Create(CultureInfo.InvariantCulture, $"trailer\n<< /Size {objects.Length + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"));
        return pdf.ToArray();
    }
}

/// <summary>A file of zeros (sparse: it takes no disk space) under a name of the test's choosing, in a directory of its
/// own, deleted with it.</summary>
internal sealed class TemporaryFile : IAsyncDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("messaging-app-test-");

    public TemporaryFile(string name, long length)
    {
        Path = System.IO.Path.Combine(_directory.FullName, name);
        using var file = File.Create(Path);
        file.SetLength(length);
    }

    public string Path { get; }

    public ValueTask DisposeAsync()
    {
        _directory.Delete(recursive: true);
        return ValueTask.CompletedTask;
    }
}
