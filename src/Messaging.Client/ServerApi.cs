using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Messaging.Contracts;

namespace Messaging.Client;

/// <summary>The server's HTTP endpoints (enrolment, authentication, administration). Refusals become
/// <see cref="ServerRefusedException"/> with the server's stable code.</summary>
public sealed class ServerApi : IDisposable
{
    private readonly HttpClient _http;
    private readonly bool _ownsClient;

    /// <summary>Talks to <paramref name="server"/>; <paramref name="handler"/> replaces the network (tests).</summary>
    public ServerApi(Uri server, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(server);
        _http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        _http.BaseAddress = server;
        _http.Timeout = TimeSpan.FromSeconds(30);
        _ownsClient = true;
    }

    /// <summary>Enrols a device with a one-time code.</summary>
    /// <exception cref="ServerRefusedException">The code is unknown, used or expired, or a key is invalid.</exception>
    public Task<EnrolDeviceResponse> EnrolAsync(EnrolDeviceRequest request, CancellationToken cancellationToken = default)
        => PostAsync<EnrolDeviceRequest, EnrolDeviceResponse>(ApiRoutes.Enrolment, request, token: null, cancellationToken);

    /// <summary>Asks for a single-use challenge.</summary>
    public Task<ChallengeResponse> ChallengeAsync(Guid deviceId, CancellationToken cancellationToken = default)
        => PostAsync<ChallengeRequest, ChallengeResponse>(ApiRoutes.AuthChallenge, new ChallengeRequest(deviceId), token: null, cancellationToken);

    /// <summary>Exchanges a signed challenge for a short-lived token.</summary>
    public Task<TokenResponse> TokenAsync(TokenRequest request, CancellationToken cancellationToken = default)
        => PostAsync<TokenRequest, TokenResponse>(ApiRoutes.AuthToken, request, token: null, cancellationToken);

    /// <summary>Creates an organisation (platform operator).</summary>
    public Task<OrganisationEntry> CreateOrganisationAsync(string token, CreateOrganisationRequest request, CancellationToken cancellationToken = default)
        => PostAsync<CreateOrganisationRequest, OrganisationEntry>(ApiRoutes.Organisations, request, token, cancellationToken);

    /// <summary>Creates a member (organisation admin for their organisation, or platform operator).</summary>
    public Task<MemberCreated> CreateMemberAsync(string token, CreateMemberRequest request, CancellationToken cancellationToken = default)
        => PostAsync<CreateMemberRequest, MemberCreated>(ApiRoutes.Members, request, token, cancellationToken);

    /// <summary>Issues a one-time enrolment code for a member.</summary>
    public Task<EnrolmentCodeIssued> IssueEnrolmentCodeAsync(string token, Guid memberId, CancellationToken cancellationToken = default)
        => PostAsync<object?, EnrolmentCodeIssued>(ApiRoutes.EnrolmentCodesFor(memberId), null, token, cancellationToken);

    /// <summary>Revokes a device; its connections are closed at once.</summary>
    public async Task RevokeDeviceAsync(string token, Guid deviceId, CancellationToken cancellationToken = default)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, ApiRoutes.RevokeDeviceFor(deviceId));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The follow-up committee report (platform operator): aggregated counts only, small cells suppressed.</summary>
    /// <param name="token">The operator's access token.</param>
    /// <param name="year">The calendar year.</param>
    /// <param name="granularity">month, quarter or year (<see cref="ReportGranularities"/>).</param>
    /// <param name="format">csv or json.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The report as the server wrote it (CSV text or JSON).</returns>
    /// <exception cref="ServerRefusedException">Not the platform operator, or a bad year, granularity or format.</exception>
    public async Task<string> GetReferralReportAsync(string token, int year, string granularity, string format, CancellationToken cancellationToken = default)
    {
        var route = string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"{ApiRoutes.ReferralReport}?year={year}&granularity={Uri.EscapeDataString(granularity)}&format={Uri.EscapeDataString(format)}");
        using var request = new HttpRequestMessage(HttpMethod.Get, route);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task<TResponse> PostAsync<TRequest, TResponse>(string route, TRequest body, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, route) { Content = JsonContent.Create(body) };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        return await response.Content.ReadFromJsonAsync<TResponse>(cancellationToken).ConfigureAwait(false)
            ?? throw new MessagingClientException($"The server sent an empty answer to {route}.");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var code = $"http.{(int)response.StatusCode}";
        var detail = response.ReasonPhrase ?? "refused";
        try
        {
            using var problem = await JsonDocument.ParseAsync(await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false), cancellationToken: cancellationToken).ConfigureAwait(false);
            if (problem.RootElement.TryGetProperty("code", out var c) && c.GetString() is { } parsed)
            {
                code = parsed;
            }

            if (problem.RootElement.TryGetProperty("detail", out var d) && d.GetString() is { } text)
            {
                detail = text;
            }
        }
        catch (JsonException)
        {
            // Not a ProblemDetails body: keep the HTTP status as the code.
        }

        throw ServerRefusedException.FromCode(response.StatusCode == System.Net.HttpStatusCode.TooManyRequests && code.StartsWith("http.", StringComparison.Ordinal) ? ErrorCodes.RateLimited : code, detail);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_ownsClient)
        {
            _http.Dispose();
        }
    }
}
