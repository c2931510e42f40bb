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
    /// <exception cref="InsecureServerAddressException"><paramref name="server"/> is neither <c>https</c> nor <c>http</c> to
    /// a loopback address (<see cref="ServerAddress"/>).</exception>
    public ServerApi(Uri server, HttpMessageHandler? handler = null)
    {
        ServerAddress.EnsureSecure(server);
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

    /// <summary>Publishes this member's signing key with the certificates it signed (first device, migration, reset).</summary>
    /// <exception cref="ServerRefusedException">A malformed announcement or certificate, or this device is already vouched
    /// for under the member's key (<c>trust.member-key-exists</c>).</exception>
    public Task<MemberKeyPublished> PublishMemberKeyAsync(string token, PublishMemberKeyRequest request, CancellationToken cancellationToken = default)
        => PostAsync<PublishMemberKeyRequest, MemberKeyPublished>(TrustRoutes.MemberKey, request, token, cancellationToken);

    /// <summary>Records the approval of a pending device of this member.</summary>
    /// <exception cref="ServerRefusedException">The certificate does not verify, the device is not pending, or this device
    /// is not vouched for itself.</exception>
    public Task<DeviceApproved> ApproveDeviceAsync(string token, ApproveDeviceRequest request, CancellationToken cancellationToken = default)
        => PostAsync<ApproveDeviceRequest, DeviceApproved>(TrustRoutes.Approvals, request, token, cancellationToken);

    /// <summary>The member key sealed to this device by the device that approved it.</summary>
    /// <exception cref="TargetNotFoundException">Not approved yet (<c>trust.grant-not-found</c>).</exception>
    public Task<MemberKeyGrant> GetMemberKeyGrantAsync(string token, CancellationToken cancellationToken = default)
        => GetAsync<MemberKeyGrant>(TrustRoutes.Grant, token, cancellationToken);

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

    /// <summary>Every service of the partner directory with its level, region, referral acceptance, partner status and
    /// communes (platform operator).</summary>
    /// <param name="token">The operator's access token.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every organisation's directory entry, by name.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="NotPermittedException">The caller is not the platform operator (<c>policy.forbidden</c>).</exception>
    public Task<IReadOnlyList<DirectoryServiceEntry>> ListDirectoryServicesAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return GetAsync<IReadOnlyList<DirectoryServiceEntry>>(ApiRoutes.DirectoryServices, token, cancellationToken);
    }

    /// <summary>Changes a service's directory entry (platform operator): null fields stay as they are, and
    /// <see cref="UpdateDirectoryServiceRequest.CommuneCodes"/>, when given, replaces the whole list.</summary>
    /// <param name="token">The operator's access token.</param>
    /// <param name="organisationId">The service's organisation.</param>
    /// <param name="request">What changes.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The entry as it is now.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null.</exception>
    /// <exception cref="NotPermittedException">The caller is not the platform operator (<c>policy.forbidden</c>).</exception>
    /// <exception cref="TargetNotFoundException">No such organisation (<c>organisation.not-found</c>).</exception>
    /// <exception cref="ServerRefusedException">A level, region or commune code is malformed, a regional service names no
    /// region, a justice house or the operator would accept referrals (<c>request.malformed</c>), or a commune is not in the
    /// directory (<c>directory.commune-not-found</c>). Nothing was changed.</exception>
    public Task<DirectoryServiceEntry> UpdateDirectoryServiceAsync(string token, Guid organisationId, UpdateDirectoryServiceRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentNullException.ThrowIfNull(request);
        return PutAsync<UpdateDirectoryServiceRequest, DirectoryServiceEntry>(ApiRoutes.DirectoryServiceFor(organisationId), request, token, cancellationToken);
    }

    /// <summary>Adds communes to the directory (platform operator); codes already there are left unchanged.</summary>
    /// <param name="token">The operator's access token.</param>
    /// <param name="communes">The communes, each with its five-digit NIS code, its name and its region.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>How many communes were new.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="communes"/> is null.</exception>
    /// <exception cref="NotPermittedException">The caller is not the platform operator (<c>policy.forbidden</c>).</exception>
    /// <exception cref="ServerRefusedException">No commune, too many, or one with a malformed code, name or region
    /// (<c>request.malformed</c>). Nothing was added.</exception>
    public Task<CommunesAdded> AddCommunesAsync(string token, IReadOnlyList<CommuneEntry> communes, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentNullException.ThrowIfNull(communes);
        return PostAsync<AddCommunesRequest, CommunesAdded>(ApiRoutes.DirectoryCommunesAdmin, new AddCommunesRequest(communes), token, cancellationToken);
    }

    /// <summary>The communes of the directory (any enrolled device).</summary>
    /// <param name="token">An access token.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>Every commune, by NIS code.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="AuthenticationFailedException">The token is not valid (<c>auth.unauthenticated</c>).</exception>
    public Task<IReadOnlyList<CommuneEntry>> ListCommunesAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return GetAsync<IReadOnlyList<CommuneEntry>>(ApiRoutes.DirectoryCommunes, token, cancellationToken);
    }

    /// <summary>Files a public entity's request to join the protocol (platform operator, protocol section 9). It is
    /// announced to every partner, whose organisation admins may object until the objection deadline.</summary>
    /// <param name="token">The operator's access token.</param>
    /// <param name="request">The entity's name, type, level, region, communes and referral acceptance.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The pending join request with its objection deadline.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is null.</exception>
    /// <exception cref="NotPermittedException">The caller is not the platform operator (<c>policy.forbidden</c>).</exception>
    /// <exception cref="ServerRefusedException">A malformed name, type, level or region, or a justice house accepting
    /// referrals (<c>request.malformed</c>), or a commune not in the directory (<c>directory.commune-not-found</c>).
    /// Nothing was filed.</exception>
    public Task<JoinRequestEntry> FileJoinRequestAsync(string token, FileJoinRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentNullException.ThrowIfNull(request);
        return PostAsync<FileJoinRequest, JoinRequestEntry>(ApiRoutes.JoinRequests, request, token, cancellationToken);
    }

    /// <summary>Every join request, newest first, with its objection count (organisation admins, platform operator).
    /// <see cref="MessagingClient.ListJoinRequestsAsync"/> gives the same over the hub.</summary>
    /// <param name="token">An organisation admin's or the operator's access token.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The join requests; <see cref="JoinRequestEntry.ObjectedByMyOrganisation"/> is the caller's organisation's.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="NotPermittedException">The caller is neither an organisation admin nor the platform operator
    /// (<c>policy.forbidden</c>).</exception>
    public Task<IReadOnlyList<JoinRequestEntry>> ListJoinRequestsAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return GetAsync<IReadOnlyList<JoinRequestEntry>>(ApiRoutes.JoinRequests, token, cancellationToken);
    }

    /// <summary>Files an organisation's withdrawal from the protocol (its own organisation admin, or the platform
    /// operator). It takes effect after the notice period; then its devices are revoked and its open referrals
    /// closed.</summary>
    /// <param name="token">The access token.</param>
    /// <param name="organisationId">The withdrawing organisation.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The pending withdrawal with its effective date.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="NotPermittedException">Neither the operator nor an admin of that organisation
    /// (<c>policy.forbidden</c>).</exception>
    /// <exception cref="TargetNotFoundException">No such organisation (<c>organisation.not-found</c>).</exception>
    /// <exception cref="ServerRefusedException">The organisation has withdrawn or is withdrawing already
    /// (<c>partners.withdrawn</c>), or it is the operator (<c>request.malformed</c>). Nothing was filed.</exception>
    public Task<WithdrawalEntry> FileWithdrawalAsync(string token, Guid organisationId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return PostAsync<FileWithdrawalRequest, WithdrawalEntry>(ApiRoutes.Withdrawals, new FileWithdrawalRequest(organisationId), token, cancellationToken);
    }

    /// <summary>Every withdrawal with its effective date (organisation admins, platform operator).</summary>
    /// <param name="token">An organisation admin's or the operator's access token.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The withdrawals.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty.</exception>
    /// <exception cref="NotPermittedException">The caller is neither an organisation admin nor the platform operator
    /// (<c>policy.forbidden</c>).</exception>
    public Task<IReadOnlyList<WithdrawalEntry>> ListWithdrawalsAsync(string token, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        return GetAsync<IReadOnlyList<WithdrawalEntry>>(ApiRoutes.Withdrawals, token, cancellationToken);
    }

    /// <summary>Uploads an encrypted attachment blob (<see cref="AttachmentRoutes.Upload"/>). The bytes must already be
    /// encrypted: the server stores what it is given. Use <see cref="MessagingClient.SendCaseNoteAsync(string, Guid, string, IReadOnlyList{Attachments.AttachmentFile}, CancellationToken)"/>,
    /// which encrypts, uploads and references the file in one call.</summary>
    /// <param name="token">The device's access token.</param>
    /// <param name="blob">The encrypted bytes (1 byte to the server's limit, 25 MiB by default).</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The attachment's id, size and expiry.</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> is null or empty, or <paramref name="blob"/> is empty.</exception>
    /// <exception cref="Attachments.AttachmentTooLargeException">Over the server's limit (<c>attachment.too-large</c>).</exception>
    /// <exception cref="Attachments.AttachmentQuotaExceededException">This device keeps too many bytes of attachments (<c>attachment.quota-exceeded</c>).</exception>
    /// <exception cref="RateLimitedException">Too many uploads in the window.</exception>
    /// <exception cref="AuthenticationFailedException">The token is not valid.</exception>
    public async Task<AttachmentUploaded> UploadAttachmentAsync(string token, ReadOnlyMemory<byte> blob, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        if (blob.IsEmpty)
        {
            throw new ArgumentException("An attachment blob holds at least one byte.", nameof(blob));
        }

        using var content = new ReadOnlyMemoryContent(blob);
        content.Headers.ContentType = new MediaTypeHeaderValue(AttachmentRoutes.ContentType);
        try
        {
            return await SendAsync<AttachmentUploaded>(HttpMethod.Post, AttachmentRoutes.Upload, content, token, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerRefusedException refused)
        {
            throw Attachments.AttachmentErrors.Map(refused);
        }
    }

    /// <summary>Downloads an attachment blob as uploaded (<see cref="AttachmentRoutes.Download"/>), reading at most
    /// <paramref name="maxBytes"/> + 1 bytes so that a hostile answer cannot fill the device's memory. Use
    /// <see cref="MessagingClient.OpenAttachmentAsync"/>, which also checks and decrypts it.</summary>
    /// <param name="token">The device's access token.</param>
    /// <param name="attachmentId">The attachment's id.</param>
    /// <param name="maxBytes">The most bytes expected; a longer answer is cut at <paramref name="maxBytes"/> + 1.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The bytes (longer than <paramref name="maxBytes"/> only when the server sent too many).</returns>
    /// <exception cref="ArgumentException"><paramref name="token"/> or <paramref name="attachmentId"/> is null or empty.</exception>
    /// <exception cref="Attachments.AttachmentNotFoundException">Unknown or expired (<c>attachment.not-found</c>).</exception>
    /// <exception cref="AuthenticationFailedException">The token is not valid.</exception>
    public async Task<byte[]> DownloadAttachmentAsync(string token, string attachmentId, long maxBytes, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(token);
        ArgumentException.ThrowIfNullOrEmpty(attachmentId);
        ArgumentOutOfRangeException.ThrowIfNegative(maxBytes);
        using var request = new HttpRequestMessage(HttpMethod.Get, AttachmentRoutes.For(Uri.EscapeDataString(attachmentId)));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        try
        {
            await EnsureSuccessAsync(response, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerRefusedException refused)
        {
            throw Attachments.AttachmentErrors.Map(refused);
        }

        var limit = maxBytes + 1;
        using var body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        using var buffer = new MemoryStream((int)Math.Min(response.Content.Headers.ContentLength ?? 0, limit));
        var chunk = new byte[81920];
        int read;
        while (buffer.Length < limit && (read = await body.ReadAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, limit - buffer.Length)), cancellationToken).ConfigureAwait(false)) > 0)
        {
            buffer.Write(chunk, 0, read);
        }

        return buffer.ToArray();
    }

    private Task<TResponse> PostAsync<TRequest, TResponse>(string route, TRequest body, string? token, CancellationToken cancellationToken)
        => SendAsync<TResponse>(HttpMethod.Post, route, JsonContent.Create(body), token, cancellationToken);

    private Task<TResponse> PutAsync<TRequest, TResponse>(string route, TRequest body, string token, CancellationToken cancellationToken)
        => SendAsync<TResponse>(HttpMethod.Put, route, JsonContent.Create(body), token, cancellationToken);

    private Task<TResponse> GetAsync<TResponse>(string route, string token, CancellationToken cancellationToken)
        => SendAsync<TResponse>(HttpMethod.Get, route, content: null, token, cancellationToken);

    private async Task<TResponse> SendAsync<TResponse>(HttpMethod method, string route, HttpContent? content, string? token, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, route) { Content = content };
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
