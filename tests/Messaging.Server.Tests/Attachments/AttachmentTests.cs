using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Messaging.Contracts;
using Messaging.Server.Features.Attachments;
using Messaging.Server.Persistence;
using Messaging.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Messaging.Server.Tests;

public abstract class AttachmentTests(StorageProvider storage)
{
    private const int MiB = 1024 * 1024;

    private static ByteArrayContent Body(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(AttachmentRoutes.ContentType);
        return content;
    }

    private static async Task<AttachmentUploaded> UploadAsync(HttpClient http, byte[] bytes)
    {
        var response = await http.PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), Body(bytes));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<AttachmentUploaded>())!;
    }

    private static int StoredFiles(MessagingApp app)
    {
        var folder = app.Services.GetRequiredService<AttachmentService>().Folder;
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Length : 0;
    }

    [Fact]
    public async Task A5MBBlob_RoundTrips_ToAnotherAuthenticatedDevice_UnderAnUnguessableId()
    {
        await using var app = new MessagingApp(storage);
        var organisation = await app.CreateOrganisationAsync();
        var uploader = await app.ClientAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(organisation)));
        var downloader = await app.ClientAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync())));
        var blob = RandomNumberGenerator.GetBytes(5 * 1000 * 1000);

        var uploaded = await UploadAsync(uploader, blob);
        var second = await UploadAsync(uploader, blob);
        var response = await downloader.GetAsync(new Uri(AttachmentRoutes.For(uploaded.AttachmentId), UriKind.Relative));

        Assert.Equal(blob.Length, uploaded.Size);
        Assert.Equal(43, uploaded.AttachmentId.Length);
        Assert.NotEqual(uploaded.AttachmentId, second.AttachmentId);
        Assert.Equal(app.Clock.GetUtcNow().AddDays(30), uploaded.ExpiresAt, TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(AttachmentRoutes.ContentType, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(blob, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ABlobOfExactly25MiB_IsAccepted_AndOneBytePast_IsRefusedAsTooLarge_StoringNothing()
    {
        await using var app = new MessagingApp(storage);
        var http = await app.ClientAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync())));

        var atLimit = await UploadAsync(http, RandomNumberGenerator.GetBytes(25 * MiB));
        var rows = await app.CountAsync("attachments");
        var files = StoredFiles(app);
        var tooLarge = await http.PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), Body(new byte[(25 * MiB) + 1]));

        Assert.Equal(25 * MiB, atLimit.Size);
        await Refusal.AssertHttpAsync(ErrorCodes.AttachmentTooLarge, 413, tooLarge);
        Assert.Equal(rows, await app.CountAsync("attachments"));
        Assert.Equal(files, StoredFiles(app));
    }

    [Fact]
    public async Task WithoutAToken_UploadAndDownloadAreRefused_AndNothingIsStored()
    {
        await using var app = new MessagingApp(storage);
        var http = await app.ClientAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync())));
        var uploaded = await UploadAsync(http, RandomNumberGenerator.GetBytes(1000));
        var anonymous = app.CreateClient();

        var upload = await anonymous.PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), Body(RandomNumberGenerator.GetBytes(1000)));
        var download = await anonymous.GetAsync(new Uri(AttachmentRoutes.For(uploaded.AttachmentId), UriKind.Relative));

        await Refusal.AssertHttpAsync(ErrorCodes.Unauthenticated, 401, upload);
        await Refusal.AssertHttpAsync(ErrorCodes.Unauthenticated, 401, download);
        Assert.Equal(1, await app.CountAsync("attachments"));
        Assert.Equal(1, StoredFiles(app));
    }

    [Fact]
    public async Task AnUnknownOrMalformedId_IsATypedNotFound()
    {
        await using var app = new MessagingApp(storage);
        var http = await app.ClientAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync())));

        foreach (var id in new[] { System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)), "not-an-id", "..%2F..%2Fmessaging.db" })
        {
            await Refusal.AssertHttpAsync(ErrorCodes.AttachmentNotFound, 404, await http.GetAsync(new Uri(AttachmentRoutes.For(id), UriKind.Relative)));
        }
    }

    [Fact]
    public async Task ABlobExpiresWithTheEnvelopeRetention_AndTheRetentionSweepDeletesItsFile()
    {
        await using var app = new MessagingApp(storage);
        var device = await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync()));
        var uploaded = await UploadAsync(await app.ClientAsync(device), RandomNumberGenerator.GetBytes(1000));

        app.Clock.Advance(TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));
        var http = await app.FreshClientAsync(device);
        var beforeSweep = await http.GetAsync(new Uri(AttachmentRoutes.For(uploaded.AttachmentId), UriKind.Relative));
        await app.RunSweepsAsync();

        await Refusal.AssertHttpAsync(ErrorCodes.AttachmentNotFound, 404, beforeSweep);
        Assert.Equal(0, await app.CountAsync("attachments"));
        Assert.Equal(0, StoredFiles(app));
    }

    [Fact]
    public async Task FilesACrashLeftWithoutARow_AreDeletedByTheSweepOnceOlderThanTheGrace_AndNothingElseIs()
    {
        // Outside review 2026-11-29, persist F6: a crash between the upload's rename and its insert, during the copy, or
        // between the sweep's commit and its deletes left files that nothing ever deleted.
        await using var app = new MessagingApp(storage);
        var device = await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync()));
        var http = await app.ClientAsync(device);
        var kept = await UploadAsync(http, RandomNumberGenerator.GetBytes(1000));
        var folder = app.Services.GetRequiredService<AttachmentService>().Folder;
        var old = TimeProvider.System.GetUtcNow().UtcDateTime - TimeSpan.FromDays(2);

        string Write(string name, DateTime? writtenAt)
        {
            var path = Path.Combine(folder, name);
            File.WriteAllBytes(path, RandomNumberGenerator.GetBytes(100));
            if (writtenAt is { } at)
            {
                File.SetLastWriteTimeUtc(path, at);
            }

            return path;
        }

        static string NewId() => System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        var orphan = Write(NewId(), old);
        var orphanPart = Write(NewId() + ".part", old);
        var recentOrphan = Write(NewId(), null);
        var notOurs = Write("README", old);
        File.SetLastWriteTimeUtc(Path.Combine(folder, kept.AttachmentId), old);

        await app.RunSweepsAsync();

        Assert.False(File.Exists(orphan));
        Assert.False(File.Exists(orphanPart));
        Assert.True(File.Exists(recentOrphan)); // perhaps an upload in progress on another instance
        Assert.True(File.Exists(notOurs));
        var download = await http.GetAsync(new Uri(AttachmentRoutes.For(kept.AttachmentId), UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Equal(1, await app.CountAsync("attachments"));
    }

    [Fact]
    public async Task ADevice_IsHeldToItsStoredBytesQuota_AndItsUploadRate()
    {
        await using var app = new MessagingApp(storage, new Dictionary<string, string?>
        {
            ["Messaging:Attachments:MaxStoredBytesPerDevice"] = "2500",
            ["Messaging:RateLimits:AttachmentUploadsPerWindow"] = "3",
        });
        var http = await app.ClientAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync())));

        await UploadAsync(http, RandomNumberGenerator.GetBytes(1000));
        await UploadAsync(http, RandomNumberGenerator.GetBytes(1000));
        var overQuota = await http.PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), Body(RandomNumberGenerator.GetBytes(1000)));
        var overRate = await http.PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), Body(RandomNumberGenerator.GetBytes(10)));

        await Refusal.AssertHttpAsync(ErrorCodes.AttachmentQuotaExceeded, 429, overQuota);
        await Refusal.AssertHttpAsync(ErrorCodes.RateLimited, 429, overRate);
        Assert.Equal(2, await app.CountAsync("attachments"));
        Assert.Equal(2, StoredFiles(app));
    }

    [Fact]
    public async Task AnUploadWithAnotherContentType_IsMalformed()
    {
        await using var app = new MessagingApp(storage);
        var http = await app.ClientAsync(await app.EnrolDeviceAsync(await app.CreateMemberAsync(await app.CreateOrganisationAsync())));

        var response = await http.PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), new StringContent("hello"));

        await Refusal.AssertHttpAsync(ErrorCodes.Malformed, 400, response);
        Assert.Equal(0, await app.CountAsync("attachments"));
    }

    public sealed class OnSqlite() : AttachmentTests(StorageProvider.Sqlite);

    public sealed class OnPostgres() : AttachmentTests(StorageProvider.Postgres);
}
