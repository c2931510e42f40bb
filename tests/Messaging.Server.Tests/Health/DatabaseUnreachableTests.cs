using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Messaging.Contracts;
using Messaging.Server.Tests.Infrastructure;
using Messaging.Server.Tests.Scaleout;
using Microsoft.Data.Sqlite;

namespace Messaging.Server.Tests;

/// <summary>
/// Issue 15: while the database cannot be reached, every HTTP endpoint answers as the hub does — 503 with the typed
/// <c>server.busy</c> and a <c>Retry-After</c> — instead of a bare 500; readiness reports unready, liveness stays up;
/// each refusal is logged once, at Warning, without a stack trace or anything the provider's message carries; and the
/// same endpoints work again once the database is back.
/// </summary>
public sealed class DatabaseUnreachableTests
{
    [Fact]
    public async Task PostgresStopped_EveryHttpEndpointAnswers503ServerBusyWithRetryAfter_ReadinessIsUnready_AndAllRecovers()
    {
        using var postgres = new PrivatePostgres();
        await using var app = new MessagingApp(new Dictionary<string, string?>
        {
            ["Messaging:Storage:Provider"] = "Postgres",
            ["Messaging:Storage:ConnectionString"] = postgres.AdminConnectionString,
        });
        var world = await World.BuildAsync(app);

        postgres.Stop();
        await world.AssertEverythingRefusedAsync(world.Requests());

        postgres.Start();
        await world.AssertRecoveredAsync();
    }

    [Fact]
    public async Task SqliteWriteLockedByAnotherProcess_EveryWritingEndpointAnswers503ServerBusyWithRetryAfter_ReadinessIsUnready_AndAllRecovers()
    {
        await using var app = new MessagingApp(new Dictionary<string, string?> { ["Messaging:Storage:BusyTimeoutSeconds"] = "1" });
        var world = await World.BuildAsync(app);

        // An operator's sqlite3 shell, a backup tool or a stuck process holding the write lock past the busy timeout. In
        // WAL mode readers go on: what cannot be reached is the write lock, so the writing endpoints are the ones refused.
        await using (var holder = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = app.DatabasePath, Pooling = false }.ToString()))
        {
            await holder.OpenAsync();
            await using (var begin = holder.CreateCommand())
            {
                begin.CommandText = "BEGIN IMMEDIATE;";
                await begin.ExecuteNonQueryAsync();
            }

            await world.AssertEverythingRefusedAsync(world.Requests().Where(r => r.Writes));
        }

        await world.AssertRecoveredAsync();
    }

    private sealed record Request(string Name, bool Writes, Func<Task<HttpResponseMessage>> Send);

    private sealed class World(MessagingApp app, TestDevice device, TestMember spare, string attachmentId)
    {
        public static async Task<World> BuildAsync(MessagingApp app)
        {
            var organisation = await app.CreateOrganisationAsync();
            var device = organisation.Admin;
            var spare = await app.CreateMemberAsync(organisation);
            var http = await app.ClientAsync(device);
            var uploaded = await http.PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), Blob());
            Assert.Equal(HttpStatusCode.Created, uploaded.StatusCode);
            return new World(app, device, spare, (await uploaded.Content.ReadFromJsonAsync<AttachmentUploaded>())!.AttachmentId);
        }

        /// <summary>One request of each kind: anonymous (enrolment, challenge, token), authenticated reads and writes,
        /// attachments up and down. Each is well formed, so only the database stands between it and success.</summary>
        public IEnumerable<Request> Requests()
        {
            HttpClient Anonymous() => app.CreateClient();
            HttpClient Authenticated()
            {
                var client = app.CreateClient();
                client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", device.Token);
                return client;
            }

            yield return new("enrolment", true, async () => await Anonymous().PostAsJsonAsync(ApiRoutes.Enrolment, DeviceKeys.Generate(5).Request("ABCD-EFGH-JKLM")));
            yield return new("challenge", true, async () => await Anonymous().PostAsJsonAsync(ApiRoutes.AuthChallenge, new ChallengeRequest(device.Id)));
            yield return new("token", true, async () => await Anonymous().PostAsJsonAsync(ApiRoutes.AuthToken,
                new TokenRequest(device.Id, new byte[32], device.Keys.Identity.SignChallenge(new byte[32]))));
            yield return new("communes (authenticated read)", false, async () => await Authenticated().GetAsync(new Uri(ApiRoutes.DirectoryCommunes, UriKind.Relative)));
            yield return new("attachment upload", true, async () => await Authenticated().PostAsync(new Uri(AttachmentRoutes.Upload, UriKind.Relative), Blob()));
            yield return new("attachment download", false, async () => await Authenticated().GetAsync(new Uri(AttachmentRoutes.For(attachmentId), UriKind.Relative)));
            yield return new("enrolment code (authenticated write)", true, async () => await Authenticated().PostAsync(new Uri(ApiRoutes.EnrolmentCodesFor(spare.Id), UriKind.Relative), null));
        }

        public async Task AssertEverythingRefusedAsync(IEnumerable<Request> requests)
        {
            var before = app.Logs.Lines.Count;
            var refused = 0;
            foreach (var request in requests)
            {
                var response = await request.Send();
                Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{request.Name}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                await Refusal.AssertHttpAsync(ErrorCodes.ServerBusy, 503, response);
                Assert.NotNull(response.Headers.RetryAfter);
                refused++;
            }

            var ready = await app.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative));
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            Assert.Equal(HttpStatusCode.OK, (await app.CreateClient().GetAsync(new Uri("/health/live", UriKind.Relative))).StatusCode);

            var lines = app.Logs.Lines.Skip(before).Where(l => l.Contains(" Microsoft.AspNetCore", StringComparison.Ordinal) || l.Contains(" Messaging.Server.Errors", StringComparison.Ordinal)).ToList();
            Assert.Equal(refused, lines.Count(l => l.StartsWith("Warning Messaging.Server.Errors", StringComparison.Ordinal) && l.Contains("the database cannot be reached", StringComparison.Ordinal)));
            Assert.DoesNotContain(lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("   at ", StringComparison.Ordinal));
            Assert.DoesNotContain(lines, l => l.Contains("Password", StringComparison.OrdinalIgnoreCase) || l.Contains("127.0.0.1", StringComparison.Ordinal) || l.Contains(app.DatabasePath, StringComparison.Ordinal));
        }

        public async Task AssertRecoveredAsync()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while ((await app.CreateClient().GetAsync(new Uri("/health/ready", UriKind.Relative))).StatusCode != HttpStatusCode.OK)
            {
                Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "not ready again 30 s after the database came back");
                await Task.Delay(200);
            }

            // Each request is answered as usual again: refused for what it is (a made-up code, a wrong challenge) or done.
            foreach (var request in Requests())
            {
                var response = await request.Send();
                Assert.True((int)response.StatusCode < 500, $"{request.Name} after the database came back: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
            }
        }

        private static ByteArrayContent Blob()
        {
            var content = new ByteArrayContent(new byte[1000]);
            content.Headers.ContentType = new MediaTypeHeaderValue(AttachmentRoutes.ContentType);
            return content;
        }
    }
}
