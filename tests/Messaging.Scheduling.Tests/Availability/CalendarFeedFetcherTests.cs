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

    [Fact]
    public async Task OversizedFeed_IsReportedAsTooLarge()
    {
        var fetcher = new CalendarFeedFetcher(_http, new CalendarFeedOptions { MaxBytes = 100, RequireHttps = false }, TimeProvider.System,
            NullLogger<CalendarFeedFetcher>.Instance);
        var (_, problem) = await fetcher.FetchAsync("m", Serve("/big.ics", r => r.WithBody(GoodFeed)), CancellationToken.None);

        Assert.Equal(FeedProblemKind.TooLarge, problem!.Kind);
    }
}
