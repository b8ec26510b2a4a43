/** Small messages for the SMTP and queue tests. */
export function testMessage(id: string, body = 'Hello list.\r\n'): Buffer {
  return Buffer.from(
    `From: poster@example.com\r\nTo: red@list.example.test\r\nSubject: test ${id}\r\n` +
      `Message-ID: <${id}@example.com>\r\n\r\n${body}`,
  );
}
