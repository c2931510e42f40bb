using Messaging.Client.Attachments;
using Messaging.Client.Cases;
using Messaging.Contracts;

namespace Messaging.Client;

public sealed partial class MessagingClient
{
    /// <summary>
    /// Sends a case note with files under a recorded consent. Every file is checked first (size, name, media type, and
    /// the note itself), so that a refusal uploads nothing; then each is encrypted on this device under a fresh key
    /// (<see cref="AttachmentCipher"/>), uploaded as an opaque blob, and referenced — id, key, SHA-256 of the blob, size,
    /// name, media type — by the note, which travels end to end encrypted like any case note. The server never holds a
    /// key, a file name or a media type.
    /// <para>Not resumable as one step: if the send fails after the uploads, calling again uploads the files again; the
    /// unreferenced blobs expire with the envelope retention period.</para>
    /// </summary>
    /// <param name="caseReference">The referral's case reference.</param>
    /// <param name="consentId">The recorded consent the note travels under.</param>
    /// <param name="text">The note (may be empty when files are attached).</param>
    /// <param name="files">The files, at most <see cref="CaseNote.MaxAttachments"/>, each at most <see cref="AttachmentFile.MaxBytes"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The envelope's receipt.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="files"/> or one of them is null.</exception>
    /// <exception cref="AttachmentTooLargeException">A file is larger than <see cref="AttachmentFile.MaxBytes"/> (nothing was
    /// uploaded), or the server's limit is lower.</exception>
    /// <exception cref="CaseRecordException">The note or a file's name or media type does not fit the schema; nothing was uploaded.</exception>
    /// <exception cref="CaseNotFoundException">This device holds no referral under that case reference; nothing was uploaded.</exception>
    /// <exception cref="AttachmentQuotaExceededException">This device keeps too many bytes of attachments on the server.</exception>
    /// <exception cref="NotPermittedException">No live consent (<c>consent.required</c>, <c>consent.revoked</c>, <c>consent.expired</c>, <c>consent.other-service</c>).</exception>
    public async Task<SendReceipt> SendCaseNoteAsync(string caseReference, Guid consentId, string text, IReadOnlyList<AttachmentFile> files, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(files);
        foreach (var file in files)
        {
            ArgumentNullException.ThrowIfNull(file);
            if (file.Content.LongLength > AttachmentFile.MaxBytes)
            {
                throw AttachmentTooLargeException.OnDevice(file.Content.LongLength);
            }
        }

        // The whole note is validated with placeholder references before the first upload.
        var placeholder = new string('A', 43);
        new CaseNote(caseReference, consentId, text, [.. files.Select(f => new CaseAttachment(placeholder, new byte[AttachmentCipher.KeyBytes],
            new byte[AttachmentCipher.DigestBytes], f.Content.LongLength, f.FileName, f.MediaType))]).Validate();
        var conversation = await CaseConversationAsync(caseReference, cancellationToken).ConfigureAwait(false);

        var references = new List<CaseAttachment>(files.Count);
        foreach (var file in files)
        {
            var (blob, key, digest) = AttachmentCipher.Seal(file.Content);
            var uploaded = await Api.UploadAttachmentAsync(await GetAccessTokenAsync(cancellationToken).ConfigureAwait(false), blob, cancellationToken).ConfigureAwait(false);
            references.Add(new CaseAttachment(uploaded.AttachmentId, key, digest, file.Content.LongLength, file.FileName, file.MediaType));
        }

        var note = new CaseNote(caseReference, consentId, text, references);
        return await SendAsync(conversation, EnvelopeKind.CaseFile, note.Encode(), caseReference, consentId, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Fetches a file a case note references: downloads the blob by its id, checks its size and SHA-256 against the note
    /// (which arrived end to end encrypted), and decrypts it. Nothing is kept on this device: call again to fetch again
    /// (the blob stays on the server until the envelope retention period ends).
    /// </summary>
    /// <param name="attachment">The reference, from <see cref="CaseNote.Attachments"/> of <see cref="GetCaseAsync"/>.</param>
    /// <param name="cancellationToken">Cancels the call.</param>
    /// <returns>The file with the name and media type the note gives.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="attachment"/> is null.</exception>
    /// <exception cref="CaseRecordException">The reference is malformed.</exception>
    /// <exception cref="AttachmentNotFoundException">The blob expired or never existed (<c>attachment.not-found</c>).</exception>
    /// <exception cref="AttachmentIntegrityException">The blob is not the one the note names (altered on the server or in
    /// transit): the file is not returned.</exception>
    public async Task<AttachmentFile> OpenAttachmentAsync(CaseAttachment attachment, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(attachment);
        attachment.Validate();
        var blob = await Api.DownloadAttachmentAsync(await GetAccessTokenAsync(cancellationToken).ConfigureAwait(false), attachment.AttachmentId,
            attachment.Size + AttachmentCipher.Overhead, cancellationToken).ConfigureAwait(false);
        return new AttachmentFile(attachment.FileName, attachment.MediaType, AttachmentCipher.Open(blob, attachment.Key, attachment.Sha256, attachment.Size));
    }
}
