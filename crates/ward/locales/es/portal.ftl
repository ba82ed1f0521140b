# El portal de denuncias en español. Los mismos mensajes que el inglés (una prueba lo
# comprueba); palabras sencillas y tranquilas, para alguien que puede estar afectado y en un
# teléfono.

## Este idioma, con su propio nombre.
language-name = Español

## Todas las páginas.
service-name = Denunciar abuso sexual infantil en internet
skip-to-content = Ir al contenido principal
quick-exit = Salir de este sitio ahora
quick-exit-hint = O pulse Esc dos veces para salir rápidamente.
languages-label = Idiomas
other-countries = Otros países e idiomas
run-by = Este servicio lo gestiona { $hotline }.
footer-privacy = No guardamos su dirección de internet (dirección IP) ni ningún otro dato de su dispositivo con su denuncia. Solo guardamos su correo electrónico si nos lo da, y solo lo usamos para contarle qué ha pasado.
error-prefix = Error:

## El formulario de denuncia.
form-heading = Denunciar abuso sexual infantil en internet
form-intro = Si ha visto imágenes o vídeos sexuales de un niño, una niña o un adolescente en una página web o una aplicación, díganos dónde. No tiene que dar su nombre.
scope-heading = Qué puede denunciar aquí
scope-body = Imágenes o vídeos en internet que muestran a un menor (cualquier persona de menos de 18 años) sufriendo abuso o explotación sexual.
danger-heading = ¿Hay un menor en peligro ahora mismo?
danger-call = Llame a la policía al { $number }.
danger-call-local = Llame al número de emergencias de su país.
other-heading = ¿Se trata de otra cosa?
other-body = Para otros contenidos dañinos, como acoso, amenazas, estafas o pornografía de adultos, denúncielos en la página web o la aplicación donde los vio. Si alguien está pidiendo imágenes sexuales a un menor, o amenaza con difundirlas, avise a la policía.
dont-heading = Por favor, no
dont-download = descargue, guarde ni haga capturas de pantalla de las imágenes o los vídeos
dont-send = nos los envíe a nosotros ni a nadie, ni siquiera para mostrar lo que vio
dont-search = busque más material de este tipo
dont-why = Copiar o compartir este material puede ser un delito, aunque quiera ayudar. Solo necesitamos la dirección web. Este formulario nunca pide un archivo.
urls-label = Direcciones web (URL)
urls-hint = Copie la dirección de la barra de direcciones de su navegador, por ejemplo https://example.com/pagina. Ponga cada dirección en una línea. Puede denunciar hasta 20 a la vez.
kind-legend = ¿Qué vio?
kind-images = Imágenes
kind-videos = Vídeos
kind-both = Imágenes y vídeos
kind-unsure = No estoy seguro o segura
description-label = Algo más que debamos saber (opcional)
description-hint = Por ejemplo, cómo lo encontró, o una contraseña necesaria para verlo. No hace falta que describa las imágenes o los vídeos.
email-label = Su correo electrónico (opcional)
email-hint = Solo si quiere que le contemos qué ha pasado. No lo usaremos para nada más.
send = Enviar denuncia
status-link = ¿Ya envió una denuncia? Consulte su estado

## Errores del formulario, cada uno arriba y junto a su campo.
error-summary-title = Hay un problema
error-urls-missing = Escriba la dirección web donde lo vio
error-urls-too-many = Escriba 20 direcciones web como máximo. Puede enviar las demás en otra denuncia.
error-url-scheme = La línea { $line } no es una dirección web que se pueda denunciar aquí. Debe empezar por http:// o https://
error-url-invalid = La línea { $line } no es una dirección web. Revísela e inténtelo de nuevo.
error-url-too-long = La dirección web de la línea { $line } es demasiado larga.
error-kind-missing = Elija lo que vio
error-description-too-long = El texto de «Algo más que debamos saber» es demasiado largo. Use 5000 caracteres como máximo.
error-email-invalid = Escriba un correo electrónico como nombre@example.com, o deje el campo vacío
notice-heading = Su denuncia aún no se ha enviado
notice-csrf = Por su seguridad, envíe el formulario de nuevo. Sus respuestas siguen aquí. Si vuelve a ocurrir, compruebe que su navegador acepta cookies de este sitio.
notice-busy = Ha enviado varias denuncias en poco tiempo. Espere un minuto y vuelva a enviar esta. Sus respuestas siguen aquí.

## Después de enviar.
filed-title = Denuncia enviada
filed-reference-label = Su número de referencia
filed-keep = Apunte este número o guárdelo en un lugar seguro. Es la única forma de consultar su denuncia, porque no sabemos quién es usted.
next-heading = Qué pasa ahora
next-check = Un analista revisa cada dirección web que nos dio. Nunca se le mostrará lo que encontremos.
next-remove = Si las imágenes o los vídeos son ilegales, pedimos a la página web que los retire y avisamos a la policía cuando es necesario.
next-status = Puede consultar el estado de su denuncia en cualquier momento con su número de referencia.
next-email = Si nos dio su correo electrónico, le escribiremos para contarle qué ha pasado.
filed-status-link = Consultar el estado de esta denuncia
filed-another = Denunciar otra dirección web
support-heading = Cuídese
support-body = Ver este tipo de material puede afectar mucho. No es culpa suya. Hablar con alguien de confianza, o con un servicio de apoyo, puede ayudar.

## Consultar una denuncia.
status-title = Consultar una denuncia
status-intro = Escriba el número de referencia que recibió al enviar su denuncia.
reference-label = Número de referencia
reference-hint = Empieza por R, por ejemplo R-7K3M-Q9XP-2D4F.
status-send = Consultar estado
error-reference-missing = Escriba su número de referencia
error-reference-invalid = Escriba el número de referencia tal como se lo dimos, por ejemplo R-7K3M-Q9XP-2D4F
error-reference-unknown = No encontramos ninguna denuncia con este número de referencia. Revíselo e inténtelo de nuevo.
status-sent-on = Enviada el { $date }
status-caption = Estado de cada dirección web
status-url = Dirección web
status-state = Estado
status-urls-note = Las direcciones web se muestran como texto, no como enlaces, para que nadie las abra por error.
status-another = Consultar otra denuncia
state-received = Recibida: pendiente de revisión
state-unreachable = Aún no hemos podido acceder a esta dirección. Lo intentaremos de nuevo.
state-refused = No podemos revisar esta dirección porque no es una dirección web pública.
state-known = Revisada: este material ya se conoce y se está tratando.
state-queued = Pendiente de que la revise un analista
state-assessed = Revisada: un analista encontró material ilegal. Se están tomando medidas.
state-not-actionable = Revisada: no hemos podido actuar sobre esta dirección.
state-noticed = Se ha pedido a la página web que lo retire.
state-removed = Retirada: la dirección ya no muestra este material.

## Otras páginas.
not-found-title = No se encuentra la página
not-found-body = No hay ninguna página de denuncia en esta dirección. Revise la dirección o use el formulario para todos los países.
not-found-link = Ir al formulario de denuncia
upload-title = Este formulario no acepta archivos
upload-body = No envíe nunca imágenes ni vídeos, ni a nosotros ni a nadie. Envíe solo la dirección web donde los vio.
back-to-form = Volver al formulario
error-title = Lo sentimos, hay un problema con el servicio
error-body = Su denuncia no se ha enviado. Inténtelo de nuevo más tarde.
countries-heading = Páginas para un país
countries-intro = Estas páginas dan el número de emergencias del país y se muestran en sus idiomas.

## Los países, en español.
country-gb = Reino Unido
country-us = Estados Unidos
country-ca = Canadá
country-fr = Francia
country-es = España
country-mx = México
country-ma = Marruecos
country-eg = Egipto
country-br = Brasil
country-pt = Portugal

## Denuncia de la propia persona: quien aparece en una imagen impide que se comparta, sin enviarla.
self-link-heading = ¿Se está compartiendo una imagen suya sin ropa o de tipo sexual?
self-link-body = Puede impedir que se comparta en las páginas web y aplicaciones que participan, sin mostrársela a nadie.
self-link = Impedir que se comparta una imagen suya
self-title = Impedir que se comparta una imagen suya sin ropa o de tipo sexual
self-intro = Si se está compartiendo en internet una imagen o un vídeo suyo sin ropa o de tipo sexual, o tiene miedo de que ocurra, puede impedir que las páginas web y aplicaciones que participan lo muestren. Nunca envía la imagen o el vídeo, ni a nosotros ni a nadie.
self-who-heading = Para quién es
self-who-body = Es para usted si aparece en la imagen o el vídeo y tenía menos de 18 años cuando se hizo. Su padre o su madre, quien le cuide u otro adulto de confianza puede hacerlo con usted o por usted.
self-how-heading = Cómo funciona
self-how-device = Esta página convierte cada imagen o vídeo en un hash: un código corto de letras y números, creado en su dispositivo. La imagen o el vídeo en sí nunca sale de su dispositivo. Nadie lo ve, ni siquiera nosotros.
self-how-send = Solo se nos envían los hashes. Las páginas web y aplicaciones que participan comparan con los hashes lo que comparten sus usuarios y retiran las copias que encuentran.
self-how-not = Un hash no se puede volver a convertir en una imagen. No le pedimos su nombre y no guardamos su dirección de internet (dirección IP).
self-how-limits = Las páginas web y aplicaciones que no participan no recibirán los hashes, y puede que no se encuentre una copia muy modificada, por ejemplo recortada. Aun así, puede denunciar las direcciones web donde lo vio.
self-choose-label = Elija las imágenes o los vídeos
self-choose-hint = Puede elegir varios a la vez. Se quedan en su dispositivo; esta página no los muestra.
self-working = Creando los hashes. Los archivos se quedan en su dispositivo.
self-ready = Archivos listos: { $count }. Todavía no se ha enviado nada.
self-unreadable = Archivos que no se han podido leer: { $count }. Solo se pueden usar imágenes y vídeos.
self-send = Enviar los hashes
self-noscript = Para crear los hashes hace falta JavaScript, que está desactivado en este navegador. Actívelo para este sitio o use otro navegador. No envíe nunca la imagen o el vídeo en sí: esta página no puede recibir archivos.
self-case-link = ¿Ya tiene un número de caso? Añada más imágenes o retire su caso
self-opened-title = Sus hashes se han enviado
self-case-label = Su número de caso
self-code-label = Su código
self-keep = Apunte los dos y guárdelos en un lugar seguro. Con ellos puede añadir más imágenes o vídeos más adelante, o retirar su caso. No podemos volver a mostrarle el código, porque no sabemos quién es usted.
self-received = Archivos cuyos hashes hemos recibido: { $count }.
self-next-heading = Qué pasa ahora
self-next-body = Las páginas web y aplicaciones que participan buscan copias y retiran las que encuentran. Esto puede tardar unos días. Nadie se pondrá en contacto con usted.
self-add-link = Añadir más imágenes o vídeos a este caso
self-case-title = Su caso
self-case-intro = Escriba su número de caso y su código para añadir más imágenes o vídeos, o para retirar su caso.
self-number-hint = Empieza por S, por ejemplo S-7K3M-Q9XP-2D4F.
self-code-hint = El código que recibió con su número de caso, por ejemplo 4T7Q-M2XH.
self-add-heading = Añadir imágenes o vídeos
self-add-send = Añadir los hashes
self-withdraw-heading = Retirar su caso
self-withdraw-body = Si retira su caso, se borran todos los hashes del caso y se pide a las páginas web y aplicaciones que participan que dejen de buscarlos. No se puede deshacer.
self-withdraw-send = Retirar mi caso
self-added = Archivos añadidos: { $count }. Archivos en su caso ahora: { $total }.
self-withdrawn = Su caso se ha retirado. Se han borrado los hashes del caso.
self-unavailable-title = Este servicio aún no está disponible aquí
self-unavailable-body = Todavía no se pueden enviar hashes en este sitio. Aun así, puede denunciar las direcciones web donde vio la imagen o el vídeo.
error-case-missing = Escriba su número de caso y su código
error-case-unknown = No encontramos ningún caso con este número y este código. Revíselos e inténtelo de nuevo.
error-case-withdrawn = Este caso se ha retirado. Para empezar de nuevo, envíe los hashes como un caso nuevo.
error-hashes-missing = Elija al menos una imagen o un vídeo
error-hashes-invalid = Algo salió mal al crear los hashes. Vuelva a elegir los archivos.
error-hashes-too-many = Puede enviar hashes de hasta 50 archivos a la vez, y de hasta 500 en un mismo caso.
