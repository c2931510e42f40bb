using System.Net;
using System.Net.Sockets;
using Messaging.Scheduling.Availability;
using Messaging.Scheduling.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using NodaTime;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

namespace Messaging.Scheduling.Tests.Availability;

public sealed class CalendarFeedFetcherTests : IDisposable
{
    private const string GoodFeed = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:x@y\r\nDTSTAMP:20260101T000000Z\r\n"
        + "DTSTART;TZID=Europe/Brussels:20270608T100000\r\nDTEND;TZID=Europe/Brussels:20270608T110000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";

    private readonly WireMockServer _server = WireMockServer.Start();
    private readonly HttpClient _http = new();

    // A feed host that takes the connection and never answers: the kernel completes the handshake from the backlog.
    private readonly TcpListener _silent = new(IPAddress.Loopback, 0);

    public void Dispose()
    {
        _http.Dispose();
        _silent.Stop();
        _silent.Dispose();
        _server.Stop();
        _server.Dispose();
    }

    // The timeout leaves room for a first request on a busy machine (the suite runs two lanes at once; 500 ms was once too short
    // for all four), and the slow feed never answers.
    private CalendarFeedFetcher Fetcher() => new(_http, new CalendarFeedOptions { Timeout = TimeSpan.FromSeconds(3), RequireHttps = false },
        TimeProvider.System, NullLogger<CalendarFeedFetcher>.Instance);

    private Uri Serve(string path, Action<IResponseBuilder> respond)
    {
        var response = Response.Create();
        respond(response);
        _server.Given(Request.Create().WithPath(path).UsingGet()).RespondWith(response);
        return new Uri(_server.Url + path);
    }

    [Fact]
    public async Task SlowFailingAndMalformedFeeds_AreReported_AndTheSearchGoesOnWithTheGoodOne()
    {
        var good = Serve("/good.ics", r => r.WithStatusCode(200).WithBody(GoodFeed));
        _silent.Start();
        var slow = new Uri($"http://127.0.0.1:{((IPEndPoint)_silent.LocalEndpoint).Port}/slow.ics");
        var failing = Serve("/failing.ics", r => r.WithStatusCode(503));
        var malformed = Serve("/malformed.ics", r => r.WithStatusCode(200).WithBody("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:nonsense\r\n"));
        var hours = WorkingHours.Weekdays(new WorkingPeriod(new LocalTime(10, 0), new LocalTime(12, 0)));

        var a = await Fetcher().LoadAsync("member-a", hours, Community.French, [], [], [good, slow, failing, malformed], CancellationToken.None);
        var b = Samples.Person("member-b", hours);
        var result = SlotSearch.Find(new SlotSearchRequest([a, b], Duration.FromHours(1), Samples.At("2027-06-07T08:00:00"), Count: 1));

        Assert.False(result.IsComplete);
        Assert.Equal([FeedProblemKind.Timeout, FeedProblemKind.Unreachable, FeedProblemKind.Malformed], result.FeedProblems.Select(p => p.Kind));
        Assert.All(result.FeedProblems, p => Assert.Equal("member-a", p.ParticipantLabel));
        // The good feed is honoured: 10:00–11:00 on Tuesday is busy, so the first slot is 11:00.
        Assert.Equal(Samples.At("2027-06-08T11:00:00"), result.Slots.Single().Start);
    }

    [Fact]
    public async Task PlainHttpFeed_IsRefused_WhenHttpsIsRequired()
    {
        var fetcher = new CalendarFeedFetcher(_http, new CalendarFeedOptions(), TimeProvider.System, NullLogger<CalendarFeedFetcher>.Instance);
        var (calendar, problem) = await fetcher.FetchAsync("m", Serve("/x.ics", r => r.WithBody(GoodFeed)), CancellationToken.None);

        Assert.Null(calendar);
        Assert.Equal(FeedProblemKind.NotHttps, problem!.Kind);
        Assert.Empty(_server.LogEntries);
    }

    [Theory]
    [InlineData("0.0.0.0")]
    [InlineData("0.1.2.3")]
    [InlineData("127.0.0.1")]
    [InlineData("127.255.0.9")]
    [InlineData("10.0.0.5")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("169.254.169.254")]
    [InlineData("100.64.0.1")]
    [InlineData("100.127.255.255")]
    [InlineData("192.0.0.8")]
    [InlineData("198.18.0.1")]
    [InlineData("224.0.0.1")]
    [InlineData("240.0.0.1")]
    [InlineData("255.255.255.255")]
    [InlineData("::")]
    [InlineData("::1")]
    [InlineData("fc00::1")]
    [InlineData("fd12:3456::1")]
    [InlineData("fe80::1")]
    [InlineData("fec0::1")]
    [InlineData("ff02::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:10.0.0.5")]
    [InlineData("::ffff:100.64.0.1")]
    [InlineData("::10.0.0.5")]
    [InlineData("64:ff9b::a00:5")]
    public void AnAddressOfTheServersOwnNetwork_IsNotPublic(string address)
        => Assert.False(FeedHosts.IsPublic(IPAddress.Parse(address)));

    [Theory]
    [InlineData("8.8.8.8")]
    [InlineData("172.15.255.255")]
    [InlineData("172.32.0.1")]
    [InlineData("100.63.255.255")]
    [InlineData("100.128.0.1")]
    [InlineData("193.191.245.1")]
    [InlineData("2001:4860:4860::8888")]
    [InlineData("::ffff:8.8.8.8")]
    [InlineData("64:ff9b::808:808")]
    public void APublicAddress_IsPublic(string address) => Assert.True(FeedHosts.IsPublic(IPAddress.Parse(address)));

    [Fact]
    public async Task AFeedOnLoopbackOrAPrivateAddress_IsRefusedWithoutConnecting_UnlessPrivateHostsAreAllowed()
    {
        var path = Serve("/internal.ics", r => r.WithStatusCode(200).WithBody(GoodFeed)).AbsolutePath;
        var port = new Uri(_server.Url!).Port;
        var refusing = new CalendarFeedOptions { Timeout = TimeSpan.FromSeconds(3), RequireHttps = false };
        using var refusingHttp = new HttpClient(CalendarFeedFetcher.CreateHandler(refusing));
        var fetcher = new CalendarFeedFetcher(refusingHttp, refusing, TimeProvider.System, NullLogger<CalendarFeedFetcher>.Instance);

        // localhost resolves to 127.0.0.1 (and ::1); 10.0.0.5 is refused before any connection is tried, so it cannot time out.
        foreach (var host in new[] { "127.0.0.1", "localhost", "[::1]", "[::ffff:127.0.0.1]", "10.0.0.5" })
        {
            var (calendar, problem) = await fetcher.FetchAsync("m", new Uri($"http://{host}:{port}{path}"), CancellationToken.None);
            Assert.Null(calendar);
            Assert.Equal(FeedProblemKind.HostNotAllowed, problem!.Kind);
            Assert.DoesNotContain(host.Trim('[', ']'), problem.Message, StringComparison.Ordinal);
        }

        Assert.Empty(_server.LogEntries);

        // The same loopback feed through a handler that allows private hosts (what the tests' stand-ins need) is read.
        var allowing = new CalendarFeedOptions { Timeout = TimeSpan.FromSeconds(3), RequireHttps = false, AllowPrivateFeedHosts = true };
        using var allowingHttp = new HttpClient(CalendarFeedFetcher.CreateHandler(allowing));
        var read = await new CalendarFeedFetcher(allowingHttp, allowing, TimeProvider.System, NullLogger<CalendarFeedFetcher>.Instance)
            .FetchAsync("m", new Uri($"http://127.0.0.1:{port}{path}"), CancellationToken.None);
        Assert.NotNull(read.Calendar);
    }

    [Fact]
    public async Task OversizedFeed_IsReportedAsTooLarge()
    {
        var fetcher = new CalendarFeedFetcher(_http, new CalendarFeedOptions { MaxBytes = 100, RequireHttps = false }, TimeProvider.System,
            NullLogger<CalendarFeedFetcher>.Instance);
        var (_, problem) = await fetcher.FetchAsync("m", Serve("/big.ics", r => r.WithBody(GoodFeed)), CancellationToken.None);

        Assert.Equal(FeedProblemKind.TooLarge, problem!.Kind);
    }
}
